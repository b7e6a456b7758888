# expect: SYN001
def dscr(noi: float, debt_service: float) -> float
    return noi / debt_service
