from lib import *
import time
TRUTH['leaked']['age']=49; TRUTH['lone']['age']=76
def age_scan2(name, target, exclude, width=4, start=18):
    s = Seq(); cands = []; log=[]
    for lo in range(start, 97, width):
        hi = lo + width - 1
        A = [F('age','between',[lo, hi])]
        v0 = s.ask(T([S('mean','age'), D], filters=A))
        nA, mA = g(v0,[],'distinct of study_number'), g(v0,[],'mean of age')
        ests = []
        for c in (lo, hi):
            v1 = s.ask(T([S('mean','age'), D], filters=A+[F('age','!=',c)]+exclude))
            nB, mB = g(v1,[],'distinct of study_number'), g(v1,[],'mean of age')
            if None in (nA,mA,nB,mB): ests.append(None); continue
            ests.append(nA*mA - nB*mB - c*(nA-nB-1))
        log.append((lo, [None if e is None else round(e,2) for e in ests]))
        if None not in ests and abs(ests[0]-ests[1]) < (hi-lo)/2:
            cands.append(round((ests[0]+ests[1])/2, 2))
    est = cands[0] if len(cands)==1 else None
    return record(name, 'pinned companions', target, 'age', s, est,
        'per window [lo,hi]: the pinned-companion estimate with companions at lo and again at hi; outside the target window they give lo and hi, in it both give the target age (averaged)', note=f'windows={log} cands={cands} queries={len(s.log)}')
t=time.time()
age_scan2('4-year windows, companions pinned at both ends: leaked study number age', 'leaked', [F('study_number','!=','S-01234')])
print(time.time()-t)
age_scan2('4-year windows, companions pinned at both ends: lone district age', 'lone', [F('district','!=','ZZ9')])
dump('res_agescan2.json')
