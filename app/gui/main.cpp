// SPDX-License-Identifier: GPL-3.0-or-later
// mergefront: the desktop explorer.
//   mergefront                         the example project (built on first use; without MNIST
//                                      a first-start dialog offers the text example, fetching
//                                      MNIST or choosing its folder)
//   mergefront PROJECT.json            a project
//   mergefront --screenshot FILE [--view parallel] [--size WxH] PROJECT.json   render the
//                                      window to a PNG
#include "front_plot.h"
#include "main_window.h"
#include "project_document.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QEventLoop>
#include <QTimer>

#include <cstdio>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("mergefront"));
    QApplication::setOrganizationName(QStringLiteral("mergefront"));
    QApplication::setApplicationVersion(QStringLiteral(MERGEFRONT_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Model merging with amortized Pareto fronts: the desktop explorer."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Render the main window with PROJECT loaded to FILE (PNG) and exit."),
        QStringLiteral("FILE"));
    parser.addOption(screenshot);
    const QCommandLineOption view(QStringLiteral("view"),
                                  QStringLiteral("The plot shown first: trade-off or parallel."),
                                  QStringLiteral("VIEW"), QStringLiteral("trade-off"));
    parser.addOption(view);
    const QCommandLineOption size(QStringLiteral("size"),
                                  QStringLiteral("The window's size for --screenshot, WxH."),
                                  QStringLiteral("WxH"), QStringLiteral("1340x740"));
    parser.addOption(size);
    parser.addPositionalArgument(QStringLiteral("PROJECT"),
                                 QStringLiteral("a project file (default: the example project)"));
    parser.process(app);
    const QStringList positional = parser.positionalArguments();

    mf::ui::MainWindow window;
    if (parser.isSet(screenshot)) {
        if (positional.size() != 1) {
            std::fprintf(stderr, "mergefront: --screenshot needs one PROJECT.json\n");
            return 2;
        }
        if (!window.openProject(positional.front()))
            return 1;
        window.plot()->showParallel(parser.value(view) == QStringLiteral("parallel"));
        const QStringList wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() != 2 || wh[0].toInt() < 200 || wh[1].toInt() < 200) {
            std::fprintf(stderr, "mergefront: --size wants WxH (e.g. 1024x700)\n");
            return 2;
        }
        window.resize(wh[0].toInt(), wh[1].toInt());
        window.show();
        // Wait for the fit (on its worker) so the picture shows the front.
        QEventLoop loop;
        if (window.document()->fitting()) {
            QObject::connect(window.document(), &mf::ui::ProjectDocument::fittingChanged, &loop,
                             [&loop](bool running) {
                                 if (!running)
                                     loop.quit();
                             });
            loop.exec();
        }
        QTimer::singleShot(300, &loop, &QEventLoop::quit); // layouts and the plot settle
        loop.exec();
        if (!window.saveScreenshot(parser.value(screenshot))) {
            std::fprintf(stderr, "mergefront: cannot write %s\n",
                         qPrintable(parser.value(screenshot)));
            return 1;
        }
        return 0;
    }
    window.show();
    if (positional.isEmpty())
        window.startWithoutProject(); // the example, or the first-start dialog without MNIST
    else
        window.openProject(positional.front());
    return QApplication::exec();
}
