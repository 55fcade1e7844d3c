// SPDX-License-Identifier: GPL-3.0-or-later
// Python PyTorch reads what mergefront-cli writes, with values equal to a reference merge
// computed in Python (tests/interop/check_merge.py), and model folders written the way
// save_pretrained lays them out merge into folders a loader takes as they are
// (tests/interop/check_folders.py); block-wise merges equal Python's merge from the groups'
// definition (tests/interop/check_blockwise.py); LoRA adapters as tasks merge as PEFT's
// formulas say, and --out-adapter writes the exact sum (tests/interop/check_adapters.py).
// Skipped where Python's torch is absent.
#include "testing.h"

#include "fixtures.h"

#include <sys/wait.h>

class TestPythonInterop : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pythonReadsOurMerges();
    void modelFoldersRoundTrip();
    void blockwiseMergesMatchPython();
    void adaptersMatchPeftFormulas();
};

namespace {

/// Runs tests/interop/SCRIPT with the CLI and a work folder; "" when it passed, else its output.
std::string runCheck(const std::string &script)
{
    mftest::TempDir dir;
    const std::string log = dir.file("log.txt");
    const std::string command = "/usr/bin/python3 '" MERGEFRONT_SOURCE_DIR "/tests/interop/" +
                                script + "' '" + std::string(MERGEFRONT_CLI) + "' '" +
                                dir.file("work") + "' >'" + log + "' 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : mftest::readFile(log) + " ";
}

bool havePythonTorch()
{
    return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

} // namespace

void TestPythonInterop::pythonReadsOurMerges()
{
    if (!havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string failed = runCheck("check_merge.py");
    QVERIFY2(failed.empty(), failed.c_str());
}

void TestPythonInterop::modelFoldersRoundTrip()
{
    if (!havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string failed = runCheck("check_folders.py");
    QVERIFY2(failed.empty(), failed.c_str());
}

void TestPythonInterop::blockwiseMergesMatchPython()
{
    if (!havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string failed = runCheck("check_blockwise.py");
    QVERIFY2(failed.empty(), failed.c_str());
}

void TestPythonInterop::adaptersMatchPeftFormulas()
{
    if (!havePythonTorch())
        QSKIP("Debian's python3-torch is not installed (./run.sh test installs it)");
    const std::string failed = runCheck("check_adapters.py");
    QVERIFY2(failed.empty(), failed.c_str());
}

MF_TEST_MAIN(TestPythonInterop, pythonReadsOurMerges, modelFoldersRoundTrip,
             blockwiseMergesMatchPython, adaptersMatchPeftFormulas)
#ifdef MERGEFRONT_QT_TEST
#include "tst_python_interop.moc"
#endif
