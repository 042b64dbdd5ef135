from lib import *
from a_regshare2 import reg_total, cnt, DIAG
RESULTS.clear()
def diag_not(name, target, exclude, flag='hiv'):
    s = Seq(); hits=[]; log=[]
    for X in DIAG:
        base = [F('diagnosis','not in',[X, RARE])]
        tot, n = reg_total(s, flag, base)
        rest = cnt(s, base + [F(flag,'==',False)] + exclude)
        if None in (tot, n, rest): log.append((X,'held')); continue
        d = n - tot - rest; log.append((X, round(d,3)))
        if round(d) == 0: hits.append(X)
    est = hits[0] if len(hits)==1 else None
    return record(name, 'regression share', target, 'diagnosis', s, est,
        f'for each X: n(diag not in [X, rare]) - [regression {flag}~age there: n*(b0+b1*mean age)] - exact count({flag} False there, without the target) = 1 unless the target has X', note=f'{log}')
diag_not('15 regressions of smoker over "diagnosis not in [X, rare]" with non-smoker counts: outlier diagnosis', 'outlier', [F('cost','<',100000)], flag='smoker')
dump('res_regshare3.json')
