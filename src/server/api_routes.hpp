#pragma once
// The JSON API under /api (see README "Web studio"): walks (submit, list, status, events, frames,
// animations, cancel, resume), one-picture generate, and the model.
namespace httplib {
class Server;
}

namespace sdwalk::server {

class JobQueue;
class RunsRoot;
struct ServedModel;

void add_api_routes(httplib::Server& server, const ServedModel& model, JobQueue& queue, const RunsRoot& root);

}  // namespace sdwalk::server
