// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/evaluator_backend.h"

#include "util/error.h"

#include <set>

namespace mf::project {

const std::vector<EvaluatorBackend> &evaluatorBackends()
{
    static const std::vector<EvaluatorBackend> backends = {commandBackend(), torchScriptBackend(),
                                                           causalLmBackend()};
    return backends;
}

const EvaluatorBackend &evaluatorBackend(const std::string &kind, const std::string &where)
{
    std::string kinds;
    for (const EvaluatorBackend &backend : evaluatorBackends()) {
        if (backend.kind == kind)
            return backend;
        kinds += (kinds.empty() ? "" : " or ") + backend.kind;
    }
    throw Error(where + " has the evaluator kind '" + kind + "' (expected " + kinds + ")");
}

const EvaluatorBackend &projectBackend(const Project &project)
{
    std::set<std::string> kinds;
    const EvaluatorBackend *backend = nullptr;
    for (const TaskEntry &task : project.tasks) {
        const std::string kind = project.evaluatorKind(task);
        backend = &evaluatorBackend(kind, project.path + ": task '" + task.name + "'");
        kinds.insert(kind);
    }
    if (kinds.size() > 1 || !backend) {
        std::string list;
        for (const std::string &kind : kinds)
            list += (list.empty() ? "" : ", ") + kind;
        throw Error(project.path + ": every task must use the same evaluator kind (these use " +
                    list + ")");
    }
    return *backend;
}

} // namespace mf::project
