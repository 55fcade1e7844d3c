// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;

namespace mf::ui {

class ProjectDocument;
class RunController;

/// The project's bookmarks (merges marked to come back to, saved with the project): name
/// (editable), coefficients, what the surrogates predict there now and what was measured.
/// Select makes one the selected merge (then Export writes it), Evaluate measures it, Copy puts
/// its coefficients on the clipboard as `--coef` takes them, Remove deletes it; "Bookmark the
/// selection" marks the selected merge.
class BookmarksPanel : public QWidget {
    Q_OBJECT
public:
    BookmarksPanel(ProjectDocument *document, RunController *runner, QWidget *parent = nullptr);

    QTableWidget *table() const { return m_table; }
    QPushButton *addButton() const { return m_add; }
    QPushButton *selectButton() const { return m_select; }
    QPushButton *evaluateButton() const { return m_evaluate; }
    QPushButton *copyButton() const { return m_copy; }
    QPushButton *removeButton() const { return m_remove; }
    /// Fills the table from the document and enables what applies.
    void refresh();

Q_SIGNALS:
    /// The number of bookmarks changed (the dock's title shows it).
    void countChanged(int bookmarks);

private:
    int currentBookmark() const; ///< the selected row's bookmark, or -1
    void updateButtons();        ///< enables what applies to the current row and selection

    ProjectDocument *m_document;
    RunController *m_runner;
    QLabel *m_summary;
    QTableWidget *m_table;
    QPushButton *m_add, *m_select, *m_evaluate, *m_copy, *m_remove;
    bool m_filling = false;
    std::size_t m_shown = 0; ///< bookmarks listed by the last refresh
};

} // namespace mf::ui
