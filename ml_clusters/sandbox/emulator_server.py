"""The sandbox's AWS emulator process: moto's HTTP server plus one control endpoint.

Run as `python -m ml_clusters.sandbox.emulator_server --ready-file F`. It binds a free loopback port,
writes `{"url": ..., "pid": ...}` to the ready file, and serves until SIGINT/SIGTERM or until its parent
dies (so a killed `ml-clusters sandbox` never leaves an emulator behind).

Why a control endpoint: some states the sensors must find cannot be reached through AWS's own API — an EKS
node group turns DEGRADED, or a HyperPod node fails, only when something breaks inside AWS. moto models these
fields but offers no call that sets them, so `POST /ml-clusters-sandbox/state` sets them on moto's own
backend objects. Everything the sensors read still goes through the real AWS API (describe_nodegroup,
list_cluster_nodes) served by moto.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

CONTROL_PREFIX = "/ml-clusters-sandbox/"


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _set_eks_nodegroup(body: dict[str, Any]) -> dict[str, Any]:
    from moto.eks.models import eks_backends

    try:
        cluster = eks_backends[body["account"]][body["region"]].clusters[body["cluster"]]
        nodegroup = cluster.nodegroups[body["nodegroup"]]
    except KeyError as missing:
        raise ControlError(
            404, f"no EKS node group {body.get('cluster')}/{body.get('nodegroup')} ({missing})"
        ) from None
    nodegroup.status = body["status"]
    if "issues" in body:
        nodegroup.health = {"issues": body["issues"]}
    return {"nodegroup": nodegroup.nodegroup_name, "status": nodegroup.status, "health": nodegroup.health}


def _set_hyperpod_node(body: dict[str, Any]) -> dict[str, Any]:
    from moto.sagemaker.models import sagemaker_backends

    try:
        cluster = sagemaker_backends[body["account"]][body["region"]].clusters[body["cluster"]]
        node = cluster.nodes[body["node_id"]]
    except KeyError as missing:
        raise ControlError(404, f"no HyperPod node {body.get('cluster')}/{body.get('node_id')} ({missing})") from None
    node.status = body["status"]
    return {"node_id": node.instance_id, "status": node.status}


SETTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "eks-nodegroup": _set_eks_nodegroup,
    "hyperpod-node": _set_hyperpod_node,
}


def with_control_endpoint(app: Callable) -> Callable:
    """WSGI middleware: `POST /ml-clusters-sandbox/state {"kind": ..., ...}`; everything else goes to moto."""

    def wsgi(environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            return app(environ, start_response)
        status, payload = 200, {}
        try:
            if path != CONTROL_PREFIX + "state" or environ.get("REQUEST_METHOD") != "POST":
                raise ControlError(404, f"unknown control call {environ.get('REQUEST_METHOD')} {path}")
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            setter = SETTERS.get(body.get("kind"))
            if setter is None:
                raise ControlError(400, f"kind must be one of {sorted(SETTERS)}, got {body.get('kind')!r}")
            payload = setter(body)
        except ControlError as error:
            status, payload = error.status, {"error": str(error)}
        except (ValueError, KeyError) as error:
            status, payload = 400, {"error": f"bad request: {error}"}
        data = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return wsgi


def _exit_when_orphaned(parent_pid: int, server) -> None:
    # A SIGKILLed parent cannot stop us; notice it and shut down instead of lingering.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            server.shutdown()
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *a: Any, **k: Any) -> None:  # one line per AWS call would drown the demo's output
            pass

    app = with_control_endpoint(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietHandler)
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (queues, presigned) from it

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(), server), daemon=True).start()

    tmp = args.ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": f"http://{args.host}:{port}", "pid": os.getpid()}))
    tmp.replace(args.ready_file)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
