"""The baseline: a bare FastAPI app with one route, served exactly like ``servio serve``."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        proxy_headers=False,
        access_log=False,
        log_config=None,
        server_header=False,
    )
