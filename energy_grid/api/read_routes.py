"""The read routes: answered from the event index. (Being written: issue 11.)"""

from fastapi import APIRouter

router = APIRouter()
