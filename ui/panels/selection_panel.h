// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QVBoxLayout;

namespace mf::ui {

class ProjectDocument;

/// The right dock: the preference (a weight slider and a floor per task, the rule) that
/// selects a front point through the document, the selected merge (coefficients, predicted
/// and measured metrics), and what to do with it: evaluate it for real, export it (one file,
/// shards, or a model folder with the tokenizer of choice).
class SelectionPanel : public QWidget {
    Q_OBJECT
public:
    explicit SelectionPanel(ProjectDocument *document, QWidget *parent = nullptr);

    QSlider *weightSlider(int task) const { return m_weights.at(static_cast<std::size_t>(task)); }
    QComboBox *ruleBox() const { return m_rule; }
    QComboBox *floorsOnBox() const { return m_floorsOn; } ///< predicted value / pessimistic end
    QLabel *selectedLabel() const { return m_selected; }
    QComboBox *shardBox() const { return m_shards; } ///< one file, shards, a model folder, GGUF
    QComboBox *tokenizerBox() const { return m_tokenizer; } ///< shown when tokenizers differ
    QPushButton *evaluateButton() const { return m_evaluate; }

    /// The export as the Shards box says: 0 one file, > 0 the shard size in bytes, -1 a model
    /// folder, kGgufExport or below a GGUF file (ggufType() says which type), kAdapterExport a
    /// PEFT LoRA adapter folder (task arithmetic over adapters only).
    std::int64_t exportMode() const;
    static constexpr std::int64_t kGgufExport = -2;
    /// A GGUF export's weight type: "" the source's dtype, else f32, f16, bf16 or q8_0.
    QString ggufType() const;
    static constexpr std::int64_t kAdapterExport = -20;
    bool exportsGguf() const
    {
        return exportMode() <= kGgufExport && exportMode() > kGgufExport - 5;
    }
    bool exportsAdapter() const { return exportMode() == kAdapterExport; }
    /// The task whose tokenizer a folder or GGUF export takes ("" the base's).
    QString tokenizerFrom() const;
    /// Offers a choice of tokenizer (base or a task's) for folder exports.
    void offerTokenizers(const QStringList &differingFiles);
    /// Whether Evaluate and Export may start (no run in progress).
    void setRunIdle(bool idle);

Q_SIGNALS:
    void evaluateRequested(const std::vector<double> &coefficients);
    void exportRequested();
    /// A short message for the status bar.
    void message(const QString &text);

private:
    void rebuildPreference();
    void preferenceChanged();
    void updateSelection();

    ProjectDocument *m_document;
    QVBoxLayout *m_weightsLayout;
    std::vector<QSlider *> m_weights;
    std::vector<QDoubleSpinBox *> m_floors;
    QComboBox *m_rule, *m_floorsOn, *m_shards, *m_tokenizer;
    QLabel *m_selected;
    QPushButton *m_evaluate, *m_export;
    bool m_idle = true;
};

} // namespace mf::ui
