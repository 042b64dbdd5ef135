from lib import *
# rare's age: scan 5-year windows; pin the companions at the window's lowest age c
s = Seq()
found = []
for lo in range(18, 100, 5):
    hi = lo + 4
    A = [F('age','between',[lo,hi])]
    v0 = s.ask(T([S('mean','age'), D], filters=A))
    v1 = s.ask(T([S('mean','age'), D], filters=A+[F('age','!=',lo), F('diagnosis','!=',RARE)]))
    nA,mA,nB,mB = g(v0,[],'distinct of study_number'), g(v0,[],'mean of age'), g(v1,[],'distinct of study_number'), g(v1,[],'mean of age')
    if None in (nA,mA,nB,mB):
        print(lo, 'held', nA,mA,nB,mB); continue
    est = nA*mA - nB*mB - lo*(nA-nB-1)
    print(lo, hi, nA, mA, nB, mB, 'est', round(est,2))
    if est > lo + 0.5 + 0.005*(nA+nB):
        found.append(est)
est = round(found[0],2) if len(found)==1 else None
record('5-year age windows, companions pinned at the lowest age: age of the rare diagnosis', 'pinned companions', 'rare','age', s, est,
  'per window [lo,lo+4]: n_A*mean_A - n_B*mean_B - lo*(n_A-n_B-1), B = window without age lo and without the rare diagnosis; a window not holding the target gives ~lo, the one holding it gives its age')
dump('res_age.json')
