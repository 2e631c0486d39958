#pragma once

#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "backstop/decision/evaluate.hpp"

namespace backstop::decision {

// A number for an answer or a stored document: integral values as integers
// ("5", not "5E0"); a non-finite value, which JSON cannot hold, as null.
// Every number an evaluation writes goes through here. (The core keeps its
// numbers finite for finite samples; this is the guard at the edge.)
boost::json::value JsonNumber(double d);

// DESIGN "Reasons and evidence": {"verdict", "signals": [...], "conflicts",
// "evaluated_at"}. The release answer's `evaluation` and the evidence stored
// with every decision and escalation.
boost::json::object EvaluationToJson(const Evaluation& e);

// ["signal.breach", ...]
boost::json::array ReasonCodesToJson(const std::vector<ReasonCode>& reasons);

}  // namespace backstop::decision
