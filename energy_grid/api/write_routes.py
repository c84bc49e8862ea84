"""The write routes: relay signed orders, cancellations and readings; the operator routes. (Being written: issue 11.)"""

from fastapi import APIRouter

router = APIRouter()
