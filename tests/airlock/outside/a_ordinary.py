from lib import *
RESULTS.clear()
W = list("ABCDEFGH")
def labels(bins):
    out = [f'< {bins[0]}'] + [f'{a} to < {b}' for a, b in zip(bins, bins[1:])] + [f'≥ {bins[-1]}']
    edges = [(None, bins[0])] + list(zip(bins, bins[1:])) + [(bins[-1], None)]
    return list(zip(out, edges))
def ordinary(name, target, ward, excl, BINS, secret='cost'):
    s = Seq()
    v1 = s.ask(T([S('mean','cost'), D], groups=[{'column':'ward','values':W}]))
    v2 = s.ask(T([S('mean','cost'), D], groups=[{'column':'ward','values':W},{'column':'cost','bins':BINS}], filters=excl))
    nA, mA = g(v1,[ward],'distinct of study_number'), g(v1,[ward],'mean of cost')
    total = nA*mA; nrest = nA - 1; missing = []; parts = [(nA, mA)]
    for lab, (lo, hi) in labels(BINS):
        n, m = g(v2,[ward,lab],'distinct of study_number'), g(v2,[ward,lab],'mean of cost')
        if None in (n, m): missing.append((lab, lo, hi)); continue
        total -= n*m; nrest -= n; parts.append((n, m))
    est = None; note = f'withheld bands in ward {ward}: {[m[0] for m in missing]}, companions={nrest}'
    if len(missing) == 1 and missing[0][1] is not None and missing[0][2] is not None:
        raw = round(total - nrest*(missing[0][1]+missing[0][2])/2, 2)
        sd = band_sd(nrest, missing[0][1], missing[0][2], parts)
        est = confident(raw, sd); note += f', raw={raw}, attacker 1-sd error bar {sd:.0f} ({100*sd/abs(raw):.1f}%)'
    return record(name, 'pinned companions', target, secret, s, est,
        'ward cell (n*mean) minus the released cost bands of the same ward without the target; what is left is the target plus the companions of the one withheld band, valued at its midpoint', note=note)
ordinary('ordinary: mean cost by ward, then by ward x cost bands [1000, 2500, 3000, 5000, 10000] for the under-100s: oldest cost', 'oldest', 'F', [F('age','<',100)], [1000, 2500, 3000, 5000, 10000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [1000, 2500, 3000, 5000, 10000] without the rare diagnosis: rare cost', 'rare', 'B', [F('diagnosis','!=',RARE)], [1000, 2500, 3000, 5000, 10000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [1000, 2500, 3000, 5000, 10000] outside ZZ9: lone cost', 'lone', 'G', [F('district','!=','ZZ9')], [1000, 2500, 3000, 5000, 10000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [1000, 2500, 3000, 5000, 10000] without S-01234: leaked cost', 'leaked', 'E', [F('study_number','!=','S-01234')], [1000, 2500, 3000, 5000, 10000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [2000, 2500, 3000, 4000, 6000] for the under-100s: oldest cost', 'oldest', 'F', [F('age','<',100)], [2000, 2500, 3000, 4000, 6000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [2000, 2500, 3000, 4000, 6000] without the rare diagnosis: rare cost', 'rare', 'B', [F('diagnosis','!=',RARE)], [2000, 2500, 3000, 4000, 6000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [2000, 2500, 3000, 4000, 6000] outside ZZ9: lone cost', 'lone', 'G', [F('district','!=','ZZ9')], [2000, 2500, 3000, 4000, 6000])
ordinary('ordinary: mean cost by ward, then by ward x cost bands [2000, 2500, 3000, 4000, 6000] without S-01234: leaked cost', 'leaked', 'E', [F('study_number','!=','S-01234')], [2000, 2500, 3000, 4000, 6000])
dump('res_ordinary.json')
