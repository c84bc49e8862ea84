"""The web app's pages, served by the API service. (Being written: issue 11.)"""

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Serves the web app's pages on `app`."""
