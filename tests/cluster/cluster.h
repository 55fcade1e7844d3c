// SPDX-License-Identifier: GPL-3.0-or-later
// The private Slurm of the cluster tests (slurm_cluster.sh), shared by tst_slurm (core and
// CLI) and tst_slurm_gui (the desktop app).
#pragma once

#include "fixtures.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace mftest {

/// Runs a shell command line; its exit code and stdout.
inline std::pair<int, std::string> shell(const std::string &command)
{
    std::string out;
    std::FILE *pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return {-1, ""};
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe))
        out += buffer;
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// The private cluster, started on first use and stopped when the test ends.
class Cluster {
public:
    static Cluster &get()
    {
        static Cluster cluster;
        return cluster;
    }
    bool up() const { return m_up; }
    const std::string &why() const { return m_why; }
    ~Cluster()
    {
        if (m_started)
            shell(shellQuote(script()) + " stop " + shellQuote(m_dir.path()));
    }

private:
    Cluster()
    {
        m_started = true;
        const auto [code, out] = shell(shellQuote(script()) + " start " + shellQuote(m_dir.path()) +
                                       " " + std::to_string(::getpid()));
        if (code == 3) {
            m_why = "Slurm is not installed (./run.sh installs slurm-wlm and munge): " + out;
            return;
        }
        if (code != 0) {
            m_why = "the test cluster did not start: " + out;
            return;
        }
        ::setenv("SLURM_CONF", m_dir.file("slurm.conf").c_str(), 1);
        m_up = true;
    }
    static std::string script()
    {
        return std::string(MERGEFRONT_SOURCE_DIR) + "/tests/cluster/slurm_cluster.sh";
    }
    TempDir m_dir;
    bool m_started = false, m_up = false;
    std::string m_why;
};

/// Every Slurm job id the cluster knows of (ended ones too: the test cluster keeps them an hour).
inline std::set<long> knownJobs()
{
    std::set<long> ids;
    const auto [code, out] = shell("squeue --noheader --states=all --format=%i");
    std::istringstream lines(out);
    std::string line;
    while (code == 0 && std::getline(lines, line))
        if (!line.empty())
            ids.insert(std::atol(line.c_str()));
    return ids;
}

/// How many jobs were submitted since `before` (a knownJobs() taken then).
inline std::size_t jobsSince(const std::set<long> &before)
{
    std::size_t submitted = 0;
    for (long id : knownJobs())
        submitted += !before.count(id);
    return submitted;
}

#define REQUIRE_CLUSTER()                                                                          \
    do {                                                                                           \
        if (!Cluster::get().up())                                                                  \
            QSKIP(Cluster::get().why().c_str());                                                   \
    } while (false)

} // namespace mftest
