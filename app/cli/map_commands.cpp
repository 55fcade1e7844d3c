// SPDX-License-Identifier: GPL-3.0-or-later
// fit and quality (../shared/docs/CLI.md): argument parsing and output only; the work is
// in mergefront::map and mergefront::project.
#include "commands.h"

#include "arguments.h"

#include "map/explore.h"
#include "map/front.h"
#include "map/quality.h"
#include "project/sample_table.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace mf::cli {

const char *const kFitUsage =
    "usage: mergefront-cli fit --samples FILE.csv [--minimize METRIC]... [--link "
    "auto|identity|logit|log]\n"
    "                          [--box LO,HI] [--max-points K] [--csv FRONT.csv] [--json]\n"
    "  FILE.csv: columns c:<task> are coefficients, every other column is a metric\n"
    "  --box     trust region for every coefficient (default: the samples' bounding box)\n"
    "  --csv     also write the predicted front (c:<task> columns, then metric columns)\n";

const char *const kQualityUsage =
    "usage: mergefront-cli quality --front F.csv --truth T.csv [--minimize METRIC]... [--json]\n"
    "  both CSVs hold the same metric columns (c:<task> and measured:<task> columns are ignored)\n";

namespace {

nlohmann::json finiteOrNull(double value)
{
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::vector<std::string> metricNames(const project::Table &table)
{
    std::vector<std::string> names;
    for (const std::string &name : table.header)
        if (name.rfind("c:", 0) != 0 && !project::isAnnotationColumn(name))
            names.push_back(name);
    return names;
}

} // namespace

int fitCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"samples", "minimize", "link", "box", "max-points", "csv"},
                         {"json"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    const std::string path = args.required("samples");
    const map::Link link = map::parseLink(args.value("link").value_or("auto"));
    const project::Table table = project::readTable(path);
    project::SampleTable input =
        project::samplesFromTable(table, path, args.values("minimize"), link);
    map::Problem &problem = input.problem;
    if (const auto box = args.value("box")) {
        const std::vector<double> bounds = parseNumberList(*box, "box");
        if (bounds.size() != 2 || !(bounds[0] < bounds[1]))
            throw UsageError("--box expects LO,HI with LO < HI");
        problem.lower.setConstant(bounds[0]);
        problem.upper.setConstant(bounds[1]);
    }
    const auto surrogates = map::fitSurrogates(problem, input.samples);
    map::FrontOptions frontOptions;
    frontOptions.maxPoints = static_cast<int>(args.unsignedNumber("max-points", 500));
    if (frontOptions.maxPoints < 2)
        throw UsageError("--max-points must be at least 2");
    map::Front front = map::computeFront(problem, surrogates, frontOptions);
    map::markExtrapolation(problem, input.samples, front);
    if (const auto csv = args.value("csv"))
        project::writeTable(*csv, project::frontTable(problem, front));

    if (!args.flag("json")) {
        std::printf("%d samples, %d coefficients, %d metrics\n", input.samples.count(),
                    problem.dimension(), problem.metricCount());
        for (const auto &s : surrogates) {
            const auto &d = s.diagnostics();
            std::printf(
                "  %-20s %s, link %-8s R2 %.4f  LOO RMSE %.4g  parameters %d  condition %.3g%s%s\n",
                s.metric().c_str(), map::modelName(d).c_str(), map::linkName(d.link), d.r2,
                d.looRmse, d.parameters, d.conditionNumber, d.note.empty() ? "" : "  ",
                d.note.c_str());
        }
        std::printf("front: %d points, spacing %.4g\n", front.size(), front.spacing);
        return 0;
    }
    nlohmann::ordered_json out;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto &s : surrogates) {
        const auto &d = s.diagnostics();
        nlohmann::ordered_json entry = surrogateJson(s);
        entry["link"] = map::linkName(d.link);
        entry["condition_number"] = finiteOrNull(d.conditionNumber);
        entry["note"] = d.note;
        list.push_back(std::move(entry));
    }
    out["surrogates"] = list;
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (int i = 0; i < front.size(); ++i) {
        nlohmann::ordered_json predicted, stddev, interval;
        for (int m = 0; m < problem.metricCount(); ++m) {
            const std::string &name = problem.metrics[static_cast<std::size_t>(m)].name;
            predicted[name] = front.metrics(i, m);
            stddev[name] = finiteOrNull(front.stddev(i, m));
            interval[name] = std::isfinite(front.lower(i, m)) && std::isfinite(front.upper(i, m))
                                 ? nlohmann::json::array({front.lower(i, m), front.upper(i, m)})
                                 : nlohmann::json(nullptr);
        }
        std::vector<double> c;
        for (int j = 0; j < problem.dimension(); ++j)
            c.push_back(front.coefficients(i, j));
        nlohmann::ordered_json beyond = nlohmann::ordered_json::array();
        for (int m = 0; m < problem.metricCount(); ++m)
            if (front.extrapolated(i, m))
                beyond.push_back(problem.metrics[static_cast<std::size_t>(m)].name);
        points.push_back({{"coefficients", c},
                          {"predicted", predicted},
                          {"std", stddev},
                          {"interval", interval},
                          {"extrapolated", !beyond.empty()},
                          {"extrapolated_metrics", beyond}});
    }
    out["front"] = points;
    out["spacing"] = front.spacing;
    out["interval_level"] = front.level;
    out["coefficients"] = problem.coefficients;
    std::cout << out.dump(2) << "\n";
    return 0;
}

int qualityCommand(const std::vector<std::string> &tokens)
{
    const Arguments args(tokens, {"front", "truth", "minimize"}, {"json"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    const std::string frontPath = args.required("front"), truthPath = args.required("truth");
    const project::Table frontTable = project::readTable(frontPath);
    const project::Table truthTable = project::readTable(truthPath);
    const std::vector<std::string> names = metricNames(truthTable);
    if (names.empty())
        throw Error(truthPath + " has no metric column");
    for (const std::string &name : metricNames(frontTable))
        if (truthTable.column(name) < 0)
            throw Error(frontPath + " has the metric column '" + name + "', which " + truthPath +
                        " lacks");
    for (const std::string &name : args.values("minimize"))
        if (truthTable.column(name) < 0)
            throw Error("--minimize " + name + ": " + truthPath + " has no column of that name");
    if (frontTable.values.rows() == 0 || truthTable.values.rows() == 0)
        throw Error((frontTable.values.rows() == 0 ? frontPath : truthPath) + " has no rows");
    const auto quality = map::frontQuality(
        project::objectivesFromTable(frontTable, frontPath, names, args.values("minimize")),
        project::objectivesFromTable(truthTable, truthPath, names, args.values("minimize")));
    if (!args.flag("json")) {
        std::printf("GD %.5g  IGD %.5g  IGD+ %.5g  HV %.5g (truth %.5g)  win rate %.3f\n",
                    quality.gd, quality.igd, quality.igdPlus, quality.hypervolume,
                    quality.hypervolumeTruth, quality.winRate);
        return 0;
    }
    std::cout << nlohmann::ordered_json({{"gd", quality.gd},
                                         {"igd", quality.igd},
                                         {"igd_plus", quality.igdPlus},
                                         {"hypervolume", quality.hypervolume},
                                         {"hypervolume_truth", quality.hypervolumeTruth},
                                         {"win_rate", quality.winRate}})
                     .dump(2)
              << "\n";
    return 0;
}

} // namespace mf::cli
