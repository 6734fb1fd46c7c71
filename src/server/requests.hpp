#pragma once
// JSON bodies of the API into the library's requests. A walk takes the fields of a run's
// settings.json; what the server decides (model, output, precision, ...) may not be given, what is
// left out takes the model's defaults. Errors are HttpError 400 with one line naming the field.
#include <nlohmann/json.hpp>

#include "sdwalk/engine.hpp"
#include "server/served_model.hpp"

namespace sdwalk::server {

// Settings checked by WalkSettings::from_json + validate() and the model-aware prepare_request;
// output not set yet (the queue names the run).
WalkSettings walk_settings_from_request(const nlohmann::json& body, const ServedModel& model);
GenerateRequest generate_request_from(const nlohmann::json& body, const ServedModel& model);
// A request body as JSON (an object), or HttpError 400.
nlohmann::json parse_body(const std::string& body);

}  // namespace sdwalk::server
