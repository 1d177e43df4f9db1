"""Try TCP connections from this host; print what each one got (stdlib only).

    port_probe.py HOST:PORT [HOST:PORT ...]

Prints one JSON object mapping each HOST:PORT to "open", "refused", "timeout" or an error name.
The caller asserts; this script always exits 0.
"""

import concurrent.futures
import json
import socket
import sys

TIMEOUT = 3


def probe(target):
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return type(error).__name__ + ": " + str(error)


def main():
    targets = sys.argv[1:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets) or 1) as pool:
        results = dict(zip(targets, pool.map(probe, targets), strict=True))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
