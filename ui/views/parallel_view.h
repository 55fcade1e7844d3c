// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "views/front_view.h"

class QCPCurve;
class QCPItemLine;

#include <vector>

namespace mf::ui {

/// Parallel coordinates: every front point as a line across one axis per metric (each axis
/// scaled to the front's range, its ends labelled), the selected point highlighted with its 90%
/// interval as a bar on every axis.
class ParallelView : public FrontView {
    Q_OBJECT
public:
    explicit ParallelView(ProjectDocument *document, QWidget *parent = nullptr);

    QString title() const override;
    void rebuild() override;
    void updateSelection() override;
    QCustomPlot *canvas() const override { return m_plot; }

private:
    QCustomPlot *m_plot;
    QCPCurve *m_lines = nullptr, *m_selected = nullptr;
    std::vector<QCPItemLine *> m_bars; ///< the selection's intervals
};

} // namespace mf::ui
