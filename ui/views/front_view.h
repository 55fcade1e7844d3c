// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>
#include <QWidget>

class QCustomPlot;

namespace mf::ui {

class ProjectDocument;

/// One way of drawing the open project's front (a tab of FrontPlot). A view reads the document
/// and nothing else; FrontPlot tells it when to redraw. A new view (uncertainty bands, a
/// coefficient heat map, ...) is one subclass added in FrontPlot's constructor.
class FrontView : public QWidget {
    Q_OBJECT
public:
    explicit FrontView(ProjectDocument *document, QWidget *parent = nullptr)
        : QWidget(parent)
        , m_document(document)
    {
    }

    /// The tab's title.
    virtual QString title() const = 0;
    /// Redraws everything: a project was opened, evaluations came in or a fit finished.
    virtual void rebuild() = 0;
    /// Redraws the selection only (cheap; follows every slider move).
    virtual void updateSelection() = 0;
    /// The plot this view draws on (what File ▸ Export plot writes).
    virtual QCustomPlot *canvas() const = 0;

Q_SIGNALS:
    /// A front point was clicked: FrontPlot passes it on to the document.
    void frontPointClicked(int index);
    /// The selected merge is to be evaluated, or exported (a context menu's choice).
    void evaluateRequested();
    void exportRequested();
    /// A failed evaluation (its index in the project's evaluations) is to be run again.
    void retryRequested(int evaluation);

protected:
    ProjectDocument *document() const { return m_document; }

private:
    ProjectDocument *m_document;
};

} // namespace mf::ui
