from lib import *
TRUTH['leaked']['age']=49; TRUTH['lone']['age']=76
def age_scan(name, target, exclude, width=5):
    s = Seq(); found = []; log=[]
    for lo in range(18, 100, width):
        A = [F('age','between',[lo, lo+width-1])]
        v0 = s.ask(T([S('mean','age'), D], filters=A))
        v1 = s.ask(T([S('mean','age'), D], filters=A+[F('age','!=',lo)]+exclude))
        nA,mA,nB,mB = g(v0,[],'distinct of study_number'), g(v0,[],'mean of age'), g(v1,[],'distinct of study_number'), g(v1,[],'mean of age')
        if None in (nA,mA,nB,mB): log.append((lo,'held')); continue
        est = nA*mA - nB*mB - lo*(nA-nB-1); log.append((lo, round(est,2)))
        if est > lo + 0.5 + 0.005*(nA+nB): found.append(round(est,2))
    est = found[0] if len(found)==1 else None
    return record(name, 'pinned companions', target, 'age', s, est,
        'per 5-year window [lo,lo+4]: n_A*mean_A - n_B*mean_B - lo*(n_A-n_B-1), B = window without age lo and without the target; only the window holding the target departs from lo', note=f'windows={log}')
age_scan('5-year windows, companions pinned at the window floor: leaked study number age', 'leaked', [F('study_number','!=','S-01234')])
age_scan('5-year windows, companions pinned at the window floor: lone district age', 'lone', [F('district','!=','ZZ9')])
dump('res_agescan.json')
