// SPDX-License-Identifier: GPL-3.0-or-later
#include "panels/selection_panel.h"

#include "project_document.h"
#include "ui_format.h"

#include <QColor>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mf::ui {

namespace {

/// The selected merge's tasks x groups coefficients as a small heat map: each cell shaded from
/// white (its task's lower bound) to blue (its upper bound), the value written in it.
QString coefficientMatrixHtml(const project::Project &project, const std::vector<double> &c)
{
    const std::vector<std::string> columns = project.columns();
    QString html = QObject::tr("<br><b>Coefficients</b> (task × group)"
                               "<table cellspacing=1 cellpadding=3><tr><th></th>");
    for (const std::string &column : columns)
        html += QStringLiteral("<th><small>%1</small></th>")
                    .arg(QString::fromStdString(column).toHtmlEscaped());
    html += QStringLiteral("</tr>");
    for (std::size_t t = 0; t < project.tasks.size(); ++t) {
        const auto &task = project.tasks[t];
        html += QStringLiteral("<tr><td nowrap>%1</td>")
                    .arg(QString::fromStdString(task.name).toHtmlEscaped());
        for (std::size_t g = 0; g < columns.size(); ++g) {
            const double value = c[t * columns.size() + g];
            const double span = task.upper - task.lower;
            const double share = span > 0 ? std::clamp((value - task.lower) / span, 0.0, 1.0) : 0.0;
            const QColor shade(static_cast<int>(255 - 205 * share),
                               static_cast<int>(255 - 150 * share), 255);
            html += QStringLiteral("<td align=right bgcolor='%1' style='color:%2'>%3</td>")
                        .arg(shade.name(),
                             share > 0.6 ? QStringLiteral("white") : QStringLiteral("black"))
                        .arg(value, 0, 'f', 2);
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

} // namespace

SelectionPanel::SelectionPanel(ProjectDocument *document, QWidget *parent)
    : QWidget(parent)
    , m_document(document)
{
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<b>Preference</b> (weight per task)"), this));
    auto *weights = new QWidget(this);
    m_weightsLayout = new QVBoxLayout(weights);
    m_weightsLayout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(weights);
    auto *ruleRow = new QFormLayout;
    m_rule = new QComboBox(this);
    m_rule->setObjectName(QStringLiteral("rule"));
    m_rule->addItem(tr("Chebyshev (reaches every front point)"), QStringLiteral("chebyshev"));
    m_rule->addItem(tr("Weighted sum"), QStringLiteral("weighted"));
    ruleRow->addRow(tr("Rule"), m_rule);
    // What a floor or ceiling holds for: the predicted value, or its 90% interval's
    // pessimistic end (the merge meets it with the interval's confidence).
    m_floorsOn = new QComboBox(this);
    m_floorsOn->setObjectName(QStringLiteral("floorsOn"));
    m_floorsOn->addItem(tr("the predicted value"), QStringLiteral("mean"));
    m_floorsOn->addItem(tr("the 90% interval's pessimistic end"), QStringLiteral("pessimistic"));
    m_floorsOn->setToolTip(
        tr("A floor (≥) or ceiling (≤) can hold for the predicted value, or for the pessimistic "
           "end of its 90% interval: then the chosen merge meets it with that confidence, at some "
           "cost to the other tasks."));
    ruleRow->addRow(tr("Floors apply to"), m_floorsOn);
    layout->addLayout(ruleRow);
    connect(m_rule, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &SelectionPanel::preferenceChanged);
    connect(m_floorsOn, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &SelectionPanel::preferenceChanged);

    m_selected = new QLabel(this);
    m_selected->setObjectName(QStringLiteral("selectedPoint"));
    m_selected->setWordWrap(true);
    m_selected->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_selected);
    m_evaluate = new QPushButton(tr("Evaluate this point"), this);
    m_evaluate->setObjectName(QStringLiteral("evaluatePoint"));
    layout->addWidget(m_evaluate);
    auto *exportRow = new QHBoxLayout;
    m_export = new QPushButton(tr("Export merged model…"), this);
    m_export->setObjectName(QStringLiteral("exportMerge"));
    m_shards = new QComboBox(this);
    m_shards->setObjectName(QStringLiteral("shards"));
    m_shards->addItem(tr("one file"), QVariant::fromValue<qlonglong>(0));
    for (const int gigabytes : {1, 2, 5, 10})
        m_shards->addItem(tr("shards of %1 GB").arg(gigabytes),
                          QVariant::fromValue<qlonglong>(qlonglong(gigabytes) << 30));
    m_shards->addItem(tr("model folder"), QVariant::fromValue<qlonglong>(-1));
    // GGUF for llama.cpp, Ollama and LM Studio: the weight type (docs/GGUF.md).
    m_shards->addItem(tr("GGUF, source dtype"), QVariant::fromValue<qlonglong>(kGgufExport));
    m_shards->addItem(tr("GGUF f16"), QVariant::fromValue<qlonglong>(kGgufExport - 1));
    m_shards->addItem(tr("GGUF bf16"), QVariant::fromValue<qlonglong>(kGgufExport - 2));
    m_shards->addItem(tr("GGUF q8_0"), QVariant::fromValue<qlonglong>(kGgufExport - 3));
    m_shards->addItem(tr("GGUF f32"), QVariant::fromValue<qlonglong>(kGgufExport - 4));
    m_shards->addItem(tr("LoRA adapter (tasks all adapters)"),
                      QVariant::fromValue<qlonglong>(kAdapterExport));
    m_shards->setToolTip(
        tr("One file; sharded safetensors with an index, as large checkpoints ship; a "
           "Hugging Face model folder (weights, config, tokenizer, model card) that "
           "transformers, vLLM and lm-eval load as it is; or one GGUF file for llama.cpp, "
           "Ollama and LM Studio (a Llama, Mistral, Qwen2/3 or GPT-2 folder as the base; q8_0 "
           "quantizes while merging, norms and biases stay f32)"));
    exportRow->addWidget(m_export, 1);
    exportRow->addWidget(m_shards);
    layout->addLayout(exportRow);
    m_tokenizer = new QComboBox(this);
    m_tokenizer->setObjectName(QStringLiteral("tokenizer"));
    m_tokenizer->setVisible(false);
    layout->addWidget(m_tokenizer);
    layout->addStretch();

    connect(m_shards, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_tokenizer->setVisible(m_tokenizer->count() > 1 && exportMode() < 0 && !exportsAdapter());
    });
    m_shards->setMinimumContentsLength(16);
    connect(m_evaluate, &QPushButton::clicked, this, [this] {
        const std::vector<double> c = m_document->selectedCoefficients();
        if (!c.empty())
            Q_EMIT evaluateRequested(c);
    });
    connect(m_export, &QPushButton::clicked, this, &SelectionPanel::exportRequested);
    connect(document, &ProjectDocument::opened, this, [this] {
        m_tokenizer->clear();
        m_tokenizer->setVisible(false);
        rebuildPreference();
        updateSelection();
    });
    connect(document, &ProjectDocument::selectionChanged, this, &SelectionPanel::updateSelection);
    connect(document, &ProjectDocument::evaluationsChanged, this, &SelectionPanel::updateSelection);
    connect(document, &ProjectDocument::frontChanged, this, &SelectionPanel::updateSelection);
    connect(document, &ProjectDocument::bookmarksChanged, this, &SelectionPanel::updateSelection);
    rebuildPreference();
    updateSelection();
}

std::int64_t SelectionPanel::exportMode() const
{
    return m_shards->currentData().toLongLong();
}

QString SelectionPanel::ggufType() const
{
    static const char *const types[] = {"", "f16", "bf16", "q8_0", "f32"};
    const std::int64_t index = kGgufExport - exportMode();
    return exportsGguf() && index < 5 ? QString::fromLatin1(types[index]) : QString();
}

QString SelectionPanel::tokenizerFrom() const
{
    return exportMode() < 0 && !exportsAdapter() && m_tokenizer->count() > 1
               ? m_tokenizer->currentData().toString()
               : QString();
}

void SelectionPanel::offerTokenizers(const QStringList &differingFiles)
{
    m_tokenizer->clear();
    m_tokenizer->addItem(tr("tokenizer of the base"), QString());
    for (const QString &name : m_document->taskNames())
        m_tokenizer->addItem(tr("tokenizer of %1").arg(name), name);
    m_tokenizer->setToolTip(tr("The tasks' tokenizer files differ (%1): the model folder or "
                               "GGUF file takes the chosen one's")
                                .arg(differingFiles.join(QStringLiteral(", "))));
    m_tokenizer->setVisible(exportMode() < 0 && !exportsAdapter());
}

void SelectionPanel::setRunIdle(bool idle)
{
    m_idle = idle;
    updateSelection();
}

void SelectionPanel::rebuildPreference()
{
    while (QLayoutItem *item = m_weightsLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_weights.clear();
    m_floors.clear();
    if (!m_document->isOpen())
        return;
    // The document's preference (the project's saved one, or equal weights): shown as it is.
    const map::Preference &current = m_document->preference();
    const double heaviest = current.weights.size() ? current.weights.maxCoeff() : 0;
    {
        const QSignalBlocker block(m_rule);
        const int rule = m_rule->findData(QString::fromLatin1(map::ruleName(current.rule)));
        if (rule >= 0)
            m_rule->setCurrentIndex(rule);
        const QSignalBlocker blockFloors(m_floorsOn);
        m_floorsOn->setCurrentIndex(current.floorsOnPessimisticEnd ? 1 : 0);
    }
    const bool equal =
        current.weights.size() && current.weights.maxCoeff() == current.weights.minCoeff();
    // A saved preference comes back exactly as saved when the sliders (0 to 1) can show it;
    // weights beyond 1 are shown rescaled (the heaviest at 100), and that is said. The default
    // (no saved preference, equal weights) sits in the middle.
    const bool saved = !m_document->project().preference.is_null();
    const bool exact = saved && current.weights.size() && current.weights.minCoeff() >= 0 &&
                       current.weights.maxCoeff() <= 1;
    if (saved && !exact && heaviest > 0) {
        QStringList shown;
        for (Eigen::Index t = 0; t < current.weights.size(); ++t)
            shown << QString::number(current.weights[t], 'g', 4);
        Q_EMIT message(tr("the saved weights (%1) are beyond the sliders' 0 to 1: shown rescaled, "
                          "the heaviest at 1")
                           .arg(shown.join(QStringLiteral(", "))));
    }
    Eigen::Index index = 0;
    for (const auto &task : m_document->project().tasks) {
        const Eigen::Index t = index++;
        auto *row = new QWidget;
        auto *layout = new QHBoxLayout(row);
        layout->setContentsMargins(0, 0, 0, 0);
        const bool maximize = task.direction == map::Direction::Maximize;
        auto *name =
            new QLabel(QString::fromStdString(task.name) + directionArrow(task.direction), row);
        name->setToolTip(tr("%1: %2, %3 is better")
                             .arg(QString::fromStdString(task.name),
                                  QString::fromStdString(task.metric),
                                  maximize ? tr("higher") : tr("lower")));
        name->setMinimumWidth(80);
        auto *slider = new QSlider(Qt::Horizontal, row);
        slider->setRange(0, 100);
        const double weight = t < current.weights.size() ? current.weights[t] : 1;
        slider->setValue(exact ? static_cast<int>(std::lround(100 * weight))
                         : equal || heaviest <= 0
                             ? 50
                             : static_cast<int>(std::lround(100 * weight / heaviest)));
        // The weight as a number beside its slider (and in its tooltip).
        auto *number = new QLabel(row);
        number->setObjectName(QStringLiteral("weight:") + QString::fromStdString(task.name));
        number->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        number->setMinimumWidth(number->fontMetrics().horizontalAdvance(QStringLiteral("0.00 ")));
        const auto showWeight = [slider, number, name = task.name](int value) {
            number->setText(QString::number(value / 100.0, 'f', 2));
            slider->setToolTip(tr("How much %1 matters (weight %2 of 0 to 1)")
                                   .arg(QString::fromStdString(name))
                                   .arg(value / 100.0, 0, 'f', 2));
        };
        showWeight(slider->value());
        connect(slider, &QSlider::valueChanged, number, showWeight);
        auto *floor = new QDoubleSpinBox(row);
        floor->setRange(-1e9, 1e9);
        floor->setDecimals(3);
        floor->setSingleStep(0.01);
        floor->setMinimum(maximize ? -0.001 : -1e9);
        // A bound on the metric: at least (maximized) or at most (a loss, a perplexity).
        floor->setPrefix(maximize ? QStringLiteral("≥ ") : QStringLiteral("≤ "));
        floor->setSpecialValueText(maximize ? tr("no floor") : tr("no ceiling"));
        const double floorValue = t < current.floors.size() ? current.floors[t] : kNaN;
        floor->setValue(std::isnan(floorValue) ? floor->minimum() : floorValue);
        floor->setToolTip(maximize
                              ? tr("Least acceptable %1").arg(QString::fromStdString(task.name))
                              : tr("Most acceptable %1 (lower is better)")
                                    .arg(QString::fromStdString(task.name)));
        layout->addWidget(name);
        layout->addWidget(slider, 1);
        layout->addWidget(number);
        layout->addWidget(floor);
        m_weightsLayout->addWidget(row);
        m_weights.push_back(slider);
        m_floors.push_back(floor);
        connect(slider, &QSlider::valueChanged, this, &SelectionPanel::preferenceChanged);
        connect(floor, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
                &SelectionPanel::preferenceChanged);
    }
}

void SelectionPanel::preferenceChanged()
{
    if (!m_document->isOpen())
        return;
    map::Preference preference;
    const auto n = static_cast<Eigen::Index>(m_weights.size());
    preference.weights.resize(n);
    preference.floors.resize(n);
    for (Eigen::Index t = 0; t < n; ++t) {
        preference.weights[t] = m_weights[static_cast<std::size_t>(t)]->value() / 100.0;
        const QDoubleSpinBox *floor = m_floors[static_cast<std::size_t>(t)];
        preference.floors[t] = floor->value() == floor->minimum() ? kNaN : floor->value();
    }
    if (preference.weights.sum() <= 0) {
        Q_EMIT message(tr("at least one weight must be above 0"));
        return;
    }
    preference.rule = map::parseRule(m_rule->currentData().toString().toStdString());
    preference.floorsOnPessimisticEnd =
        m_floorsOn->currentData().toString() == QLatin1String("pessimistic");
    m_document->setPreference(preference);
}

void SelectionPanel::updateSelection()
{
    const std::vector<double> c = m_document->selectedCoefficients();
    m_evaluate->setEnabled(!c.empty() && m_idle);
    m_export->setEnabled(!c.empty() && m_idle);
    if (c.empty()) {
        m_selected->setText(m_document->isOpen()
                                ? tr("<i>No front yet: %1</i>")
                                      .arg(m_document->fitNote().isEmpty()
                                               ? tr("run Sample to evaluate a few merges")
                                               : m_document->fitNote().toHtmlEscaped())
                                : QString());
        return;
    }
    const Eigen::VectorXd predicted = m_document->selectedPredicted();
    const Eigen::VectorXd sd = m_document->selectedStd();
    const Eigen::VectorXd lower = m_document->selectedLower(), upper = m_document->selectedUpper();
    const std::vector<double> measured = m_document->measuredMetrics(c);
    QString html;
    if (m_document->hasFront() && m_document->trust().provisional)
        html += tr("<p style='color:#b35c00'><b>Provisional front</b>: about %n more "
                   "evaluation(s) would make it trustworthy (the reasons are above the plot).</p>",
                   nullptr, m_document->trust().moreEvaluations);
    const int bookmark = m_document->selectedBookmark();
    if (bookmark >= 0)
        html += tr("<b>Selected merge</b> (bookmark '%1', predicted by the surrogates)")
                    .arg(QString::fromStdString(
                             m_document->bookmarks()[static_cast<std::size_t>(bookmark)].name)
                             .toHtmlEscaped());
    else if (m_document->selectedIndex() < 0)
        html += tr("<b>Selected merge</b> (chosen by its coefficients)");
    else
        html +=
            (m_document->pickedByHand()
                 ? tr("<b>Selected merge</b> (front point %1)")
                 : tr("<b>Selected merge</b> (optimized on the surrogates from front point %1)"))
                .arg(m_document->selectedIndex());
    const auto &tasks = m_document->project().tasks;
    const std::vector<std::string> columns = m_document->project().columns();
    const bool blockwise = columns.size() > 1;
    html += tr("<table cellspacing=3><tr><th align=left>task</th><th>%1</th>"
               "<th>predicted ± std<br><small>90% interval</small></th><th>measured</th></tr>")
                .arg(blockwise ? QString() : QStringLiteral("c"));
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const auto k = static_cast<Eigen::Index>(t);
        const QString real = measured.empty() || std::isnan(measured[t])
                                 ? QStringLiteral("–")
                                 : QString::number(measured[t], 'f', 4);
        html += QStringLiteral("<tr><td nowrap>%1%2</td><td align=right nowrap>%3</td>"
                               "<td align=right nowrap>%4<br><small>%5</small></td>"
                               "<td align=right nowrap>%6</td></tr>")
                    .arg(QString::fromStdString(tasks[t].name))
                    .arg(directionArrow(tasks[t].direction))
                    .arg(blockwise ? QString() : QString::number(c[t], 'f', 3))
                    .arg(plusMinus(predicted[k], k < sd.size() ? sd[k] : NAN))
                    .arg(k < lower.size() ? intervalText(lower[k], upper[k]) : QString())
                    .arg(real);
    }
    html += QStringLiteral("</table>");
    if (blockwise)
        html += coefficientMatrixHtml(m_document->project(), c);
    if (!m_document->selectionNote().isEmpty())
        html += QStringLiteral("<br><i>%1</i>").arg(m_document->selectionNote().toHtmlEscaped());
    m_selected->setText(html);
}

} // namespace mf::ui
