from lib import *
DIAG = ["Pneumonia", "Heart failure", "Hip fracture", "COPD", "Stroke", "Sepsis", "Diabetes", "Asthma", "Appendicitis",
    "Cellulitis", "Kidney stones", "Angina", "Atrial fibrillation", "Gastroenteritis", "Migraine"]
TRUTH['outlier']['diagnosis']='Asthma'; TRUTH['oldest']['stage']=2; TRUTH['leaked']['diagnosis']='Pneumonia'
def reg_total(s, target, filters, pred='age'):
    r = s.ask(R(target, [pred], filters)); t = s.ask(T([S('mean', pred), D], filters=filters))
    b0, b1, xb, n = g(r,['(intercept)'],'coefficient'), g(r,[pred],'coefficient'), g(t,[],f'mean of {pred}'), g(t,[],'distinct of study_number')
    return (None, None) if None in (b0,b1,xb,n) else ((b0+b1*xb)*n, n)
def cnt(s, filters):
    return g(s.ask(T([D], filters=filters)), [], 'distinct of study_number')
def diag_any(name, target, exclude, flag='hiv'):
    """works for a target whose flag is 0: n - sum(flag) - count(flag False, without target) = [target in the set]"""
    s = Seq(); hits=[]; log=[]
    for X in DIAG:
        tot, n = reg_total(s, flag, [F('diagnosis','!=',X)])
        rest = cnt(s, [F('diagnosis','!=',X), F(flag,'==',False)] + exclude)
        if None in (tot, n, rest): log.append((X,'held')); continue
        d = n - tot - rest; log.append((X, round(d,3)))
        if round(d) == 0: hits.append(X)
    est = hits[0] if len(hits)==1 else None
    return record(name, 'regression share', target, 'diagnosis', s, est,
        f'for each X: n(diag!=X) - [regression {flag}~age: n*(b0+b1*mean age)] - exact count({flag} False, diag!=X, without target) = 1 if the target is in diag!=X; 0 marks its diagnosis', note=f'{log}')
if __name__ == "__main__": diag_any('15 regressions of HIV over "diagnosis != X" with the HIV-negative counts: outlier diagnosis', 'outlier', [F('cost','<',100000)])
if __name__ == "__main__": diag_any('15 regressions of died over "diagnosis != X" with the survivor counts: leaked number diagnosis', 'leaked', [F('study_number','!=','S-01234')], flag='died')
# stage of the oldest: regression stage~age over ward F gives sum of stage; pinned companions at stage 1 via exact counts of stages 2-4
if __name__ == "__main__":
  s = Seq()
  tot, n = reg_total(s, 'stage', [F('ward','==','F')])
  cs = {v: cnt(s, [F('ward','==','F'), F('age','<',100), F('stage','==',v)]) for v in (2,3,4)}
  est = None
  if tot is not None and None not in cs.values():
    est = round(tot - sum(v*c for v,c in cs.items()) - (n - 1 - sum(cs.values())))
  record('regression stage~age over ward F, exact counts of stages 2-4 without the oldest: oldest stage', 'regression share', 'oldest', 'stage', s, est,
  'n*(b0+b1*mean age) = sum of stage in ward F; minus sum v*count(stage=v, age<100) for v=2..4 and minus 1*(n-1-sum counts) (the stage-1 companions)', note=f'counts={cs} tot={tot}')
  dump('res_regshare2.json')
