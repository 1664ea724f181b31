// Test domains (data.test_domains) in the report: every test figure and verdict of the analysis
// again for each domain's scenes, and "does the pretraining advantage hold out of domain".
//
// A domain's view of the summary is the summary with each run's evaluations of that domain in
// place of the in-domain ones, so analyse() computes its figures with the one rule.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sarseg/experiment/analysis.h"
#include "sarseg/experiment/summary.h"

namespace sarseg::experiment {

// `summary` with the evaluations of `domain` as its runs' (in-domain) evaluations.
ExperimentSummary domain_view(const ExperimentSummary& summary, const std::string& domain);

struct DomainAnalysis {
  DomainDescription domain;
  Analysis analysis;  // of domain_view(summary, domain.name)
  // "Does the <reference> advantage hold out of domain (<name>)?": the domain's verdict on the
  // headline metric of every test scene pooled, beside the in-domain one; the figure is the
  // per-seed advantage in the domain minus the advantage in domain.
  FigureAnalysis advantage_change;
  Verdict holds;
};

std::vector<DomainAnalysis> analyse_domains(const ExperimentSummary& summary,
                                            const Analysis& in_domain);

nlohmann::json domains_json(const std::vector<DomainAnalysis>& domains);
std::string domains_markdown(const ExperimentSummary& summary,
                             const std::vector<DomainAnalysis>& domains);
std::string domains_html(const ExperimentSummary& summary,
                         const std::vector<DomainAnalysis>& domains);

}  // namespace sarseg::experiment
