#!/usr/bin/env python3
"""Container health check: exit 0 when ``GET /health`` on this container's port answers 200.

``/health`` answers 503 naming the backend that is down (Redis, the database), so the
container turns unhealthy when the server cannot serve, not only when it is gone.
Standard library only; the port comes from ``PORT`` (default 3000).
"""

import os
import sys
import urllib.error
import urllib.request

url = f"http://127.0.0.1:{os.environ.get('PORT') or '3000'}/health"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as exc:
    print(f"{url}: {exc.code} {exc.read(500).decode(errors='replace')}", file=sys.stderr)
except OSError as exc:
    print(f"{url}: {exc}", file=sys.stderr)
sys.exit(1)
