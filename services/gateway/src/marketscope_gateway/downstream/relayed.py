"""A service's answer on its way to the client: its status, body and content type.

A problem a service answers names the service's own path as its ``instance``
(``/watchlists/<user id>``), which means nothing to the client and shows the internal
layout. The relayed problem names the path the client asked the gateway instead: the
response learns it from the request it answers.
"""

from __future__ import annotations

import json

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from marketscope_servicekit.json_limits import loads_untrusted
from marketscope_servicekit.problems import PROBLEM_JSON


class RelayedResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.media_type and self.media_type.startswith(PROBLEM_JSON):
            self._name_instance(scope.get("root_path", "") + scope["path"])
        await super().__call__(scope, receive, send)

    def _name_instance(self, instance: str) -> None:
        try:
            problem = loads_untrusted(bytes(self.body))
        except ValueError:  # not JSON after all: as it came
            return
        if not isinstance(problem, dict) or "instance" not in problem:
            return
        if problem["instance"] == instance:
            return
        problem["instance"] = instance
        self.body = json.dumps(problem, separators=(",", ":")).encode()
        self.headers["content-length"] = str(len(self.body))
