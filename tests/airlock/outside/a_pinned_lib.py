from lib import *
def band_attack(name, target, secret, envelope, exclude, a, b, col=None):
    col = col or secret
    s = Seq()
    v0 = s.ask(T([S('mean',col), D], filters=envelope))
    v1 = s.ask(T([S('mean',col), D], groups=[{'column':col,'bins':[a,b]}], filters=envelope+exclude))
    nA, mA = g(v0,[],'distinct of study_number'), g(v0,[],f'mean of {col}')
    n1, m1 = g(v1,[f'< {a}'],'distinct of study_number'), g(v1,[f'< {a}'],f'mean of {col}')
    n2, m2 = g(v1,[f'≥ {b}'],'distinct of study_number'), g(v1,[f'≥ {b}'],f'mean of {col}')
    est=None; note=''
    if None not in (nA,mA,n1,m1,n2,m2):
        M = nA-n1-n2-1
        raw = round(nA*mA - n1*m1 - n2*m2 - M*(a+b)/2, 2)
        sd = band_sd(M, a, b, [(nA,mA),(n1,m1),(n2,m2)])
        est = confident(raw, sd)
        note = f'|M|={M}, band [{a},{b}), raw={raw}, attacker 1-sd error bar {sd:.1f} ({100*sd/abs(raw):.1f}%)'
    return record(name, 'pinned companions', target, secret, s, est,
        f"n_A*mean_A - n_<a*mean_<a - n_>=b*mean_>=b - M*(a+b)/2, M = n_A - n_<a - n_>=b - 1 (the {M if est else '?'} companions all have {col} in [{a},{b}) by the band's definition); n from 'distinct of study_number' (exact)", note=note)

