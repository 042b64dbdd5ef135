from lib import *
# dominance oracle: mean of cost over ward B aged 65-77 with cost < c: suppressed (dominated) iff the outlier is inside (its cost < c)
s = Seq()
lo, hi = 100000, 400000
env = [F('ward','==','B'), F('age','between',[65,77])]
steps = []
for i in range(22):
    c = round((lo + hi) / 2, 2)
    v = s.ask(T([S('mean','cost'), C], filters=env + [F('cost','<',c)]))
    m = g(v, [], 'mean of cost')
    steps.append((c, m))
    if m is None: hi = c      # dominated -> outlier inside -> cost < c
    else: lo = c
    print(i, c, m)
est = round((lo+hi)/2, 2)
record('binary search on cost with the dominance rule as an oracle (mean of cost, ward B aged 65-77, cost < c)', 'oracle', 'outlier', 'cost', s, est,
       'each step: the mean is not released exactly when the group holds the outlier (it dominates); halve [lo,hi] accordingly', note=f'final interval [{lo},{hi}]')
dump('res_oracle.json')
