#pragma once
// JSON as Python's json module writes it: diffusers saves configs with the bare tokens NaN,
// Infinity and -Infinity (e.g. DPMSolverMultistepScheduler's "lambda_min_clipped": -Infinity),
// which strict JSON parsers reject. parse_python_json turns those tokens (outside strings) into
// the strings "NaN", "Infinity", "-Infinity"; json_number reads a number or such a string back.
#include <nlohmann/json.hpp>
#include <string>

namespace sdwalk {

// Throws Error("<label>: not valid JSON (...)") on malformed text.
nlohmann::json parse_python_json(const std::string& text, const std::string& label);

// A JSON number, or one of the strings "NaN", "Infinity", "-Infinity", "inf", "-inf" as a double.
// Throws Error naming `what` for anything else.
double json_number(const nlohmann::json& value, const std::string& what);

}  // namespace sdwalk
