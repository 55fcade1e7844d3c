// SPDX-License-Identifier: GPL-3.0-or-later
// Python PyTorch reads what mergefront-cli writes, with values equal to a reference merge
// computed in Python (tests/interop/check_merge.py). Skipped where Python's torch is absent.
#include "testing.h"

#include "fixtures.h"

#include <sys/wait.h>

class TestPythonInterop : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pythonReadsOurMerges();
};

void TestPythonInterop::pythonReadsOurMerges()
{
    const std::string python = "/usr/bin/python3";
    if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0)
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    mftest::TempDir dir;
    const std::string log = dir.file("log.txt");
    const std::string command =
        python + " '" MERGEFRONT_SOURCE_DIR "/tests/interop/check_merge.py' '" +
        std::string(MERGEFRONT_CLI) + "' '" + dir.file("work") + "' >'" + log + "' 2>&1";
    const int status = std::system(command.c_str());
    const std::string output = mftest::readFile(log);
    QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == 0, output.c_str());
}

MF_TEST_MAIN(TestPythonInterop, pythonReadsOurMerges)
#ifdef MERGEFRONT_QT_TEST
#include "tst_python_interop.moc"
#endif
