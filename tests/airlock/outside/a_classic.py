from lib import *
TRUTH['oldest']['stage']=2
def eq1(x):
    return None if x is None else round(x)==1
def eq0(x):
    return None if x is None else round(x)==0
DIST = [f"{a}{n}" for a in ("AB","CD","EF","GH") for n in range(1,6)]
DIAG = ["Pneumonia", "Heart failure", "Hip fracture", "COPD", "Stroke", "Sepsis", "Diabetes", "Asthma", "Appendicitis",
    "Cellulitis", "Kidney stones", "Angina", "Atrial fibrillation", "Gastroenteritis", "Migraine"]
def sm(v, labels=(), h='mean of cost', n='distinct of study_number'):
    m, k = g(v, list(labels), h), g(v, list(labels), n)
    return None if None in (m, k) else m * k
def run_seq(name, cls, target, secret, queries, recipe, how):
    s = Seq(); vs = [s.ask(q) for q in queries]
    try: est = recipe(vs)
    except Exception as e: est = None
    if isinstance(est, float): est = round(est, 2)
    return record(name, cls, target, secret, s, est, how)
MC = [S('mean','cost'), D]
def sub(*xs):
    if any(x is None for x in xs): return None
    return xs[0] - sum(xs[1:])
# --- differencing
run_seq('tracker: ward F women, with and without the over-100s', 'difference', 'oldest', 'cost',
  [T(MC, filters=[F('ward','==','F'),F('sex','==','F')]), T(MC, filters=[F('ward','==','F'),F('sex','==','F'),F('age','<',100)])],
  lambda v: sub(sm(v[0]), sm(v[1])), 'sum(ward F women) - sum(ward F women under 100)')
run_seq('three-set tracker: ward F = men + women under 100 + the oldest', 'difference', 'oldest', 'cost',
  [T(MC, filters=[F('ward','==','F')]), T(MC, filters=[F('ward','==','F'),F('sex','==','M')]), T(MC, filters=[F('ward','==','F'),F('sex','==','F'),F('age','<',100)])],
  lambda v: sub(sm(v[0]), sm(v[1]), sm(v[2])), 'sum(F) - sum(F,men) - sum(F, women under 100)')
run_seq('admission-date bands moved by one day around the oldest admission (ward F)', 'difference', 'oldest', 'cost',
  [T(MC, groups=[{'column':'admitted','bins':['2021-11-04']}], filters=[F('ward','==','F')]), T(MC, groups=[{'column':'admitted','bins':['2021-11-05']}], filters=[F('ward','==','F')])],
  lambda v: sub(sm(v[1],['< 2021-11-05']), sm(v[0],['< 2021-11-04'])), 'sum(admitted < 11-05) - sum(admitted < 11-04) in ward F')
run_seq('left- and right-closed bands at 96: the over-96 band', 'difference', 'oldest', 'cost',
  [T(MC, groups=[{'column':'age','bins':[90,96],'closed':'right'}]), T(MC, groups=[{'column':'age','bins':[90,96],'closed':'left'}])],
  lambda v: sub(sm(v[1],['≥ 96']), sm(v[0],['> 90 to 96']), -sm(v[1],['90 to < 96'])) , '(>=96) - ((90,96] - [90,96))')
run_seq('twenty district requests then the total: lone cost', 'difference', 'lone', 'cost',
  [T(MC, filters=[F('district','==',d)]) for d in DIST] + [T(MC)],
  lambda v: sub(sm(v[20]), *[sm(v[i]) for i in range(20)]), 'total - sum over the 20 districts')
run_seq('complement via not in: all districts but ZZ9 by ward, then ward totals', 'difference', 'lone', 'cost',
  [T(MC, groups=[{'column':'ward','values':list('ABCDEFGH')}], filters=[F('district','not in',['ZZ9'])]), T(MC, groups=[{'column':'ward','values':list('ABCDEFGH')}])],
  lambda v: sub(sm(v[1],['G']), sm(v[0],['G'])), 'ward G total - ward G without ZZ9')
run_seq('study number text range: S-0 to S-1 is only the leaked number', 'difference', 'leaked', 'cost',
  [T(MC), T(MC, filters=[F('study_number','>=','S-1')])],
  lambda v: sub(sm(v[0]), sm(v[1])), 'total - (study_number >= "S-1")')
run_seq('missing/present: bmi present vs all in ward F', 'difference', 'oldest', 'bmi',
  [T([S('mean','bmi'),D], filters=[F('ward','==','F')]), T([S('mean','bmi'),D], filters=[F('ward','==','F'),F('age','<',100)])],
  lambda v: sub(sm(v[0],h='mean of bmi'), sm(v[1],h='mean of bmi')), 'sum bmi ward F minus under-100s (n from distinct: counts rows with missing bmi too, so approximate)')
# --- mixing / margins
run_seq('districts with an other bucket and margins: lone cost', 'margins', 'lone', 'cost',
  [T(MC, groups=[{'column':'district','values':DIST,'other':True},{'column':'sex','values':['F','M']}], margins=True)],
  lambda v: sm(v[0], ['(other values)','M']), 'the other bucket of men')
run_seq('diagnosis x sex with margins: the all-sex row minus the declared ones', 'margins', 'rare', 'cost',
  [T(MC, groups=[{'column':'diagnosis','values':DIAG,'other':True},{'column':'sex','values':['F','M']}], margins=True), T(MC)],
  lambda v: sub(sm(v[1]), *[sm(v[0],[d,'(all)']) for d in DIAG]), 'total - sum of declared diagnosis margins')
run_seq('count of died by district plus the exact death count: lone died', 'mixing', 'lone', 'died',
  [T([D], groups=[{'column':'district','values':DIST}], filters=[F('died','==',True)]), T([D], filters=[F('died','==',True)])],
  lambda v: eq1(sub(g(v[1],[],'distinct of study_number'), *[g(v[0],[d],'distinct of study_number') for d in DIST])), 'deaths total - deaths by declared district')
run_seq('share of HIV (mean of flag) with exact n, with and without the leaked number', 'mixing', 'leaked', 'hiv',
  [T([S('mean','hiv'),D]), T([S('mean','hiv'),D], filters=[F('study_number','!=','S-01234')])],
  lambda v: eq1(sub(sm(v[0],h='mean of hiv'), sm(v[1],h='mean of hiv'))), 'n*share with - n*share without')
run_seq('stage counts times stage, minus sum of stage without the oldest', 'mixing', 'oldest', 'stage',
  [T([D], groups=[{'column':'stage','values':[1,2,3,4]}]), T([S('mean','stage'),D], filters=[F('age','<',100)])],
  lambda v: sub(sum(s*g(v[0],[s],'distinct of study_number') for s in (1,2,3,4)), sm(v[1],h='mean of stage')), 'sum s*count(s) - sum(stage | age<100)')
# --- regression (held variants)
run_seq('two regressions hiv~age with and without the over-100s', 'regression', 'oldest', 'hiv',
  [R('hiv',['age']), R('hiv',['age'],[F('age','<',100)]), T([S('mean','age'),D]), T([S('mean','age'),D],filters=[F('age','<',100)])],
  lambda v: eq1((g(v[0],['(intercept)'],'coefficient')+g(v[0],['age'],'coefficient')*g(v[2],[],'mean of age'))*g(v[2],[],'distinct of study_number') - (g(v[1],['(intercept)'],'coefficient')+g(v[1],['age'],'coefficient')*g(v[3],[],'mean of age'))*g(v[3],[],'distinct of study_number')),
  'n*ybar with - n*ybar without')
run_seq('regression cost on ward levels with the exclusion of the outlier ward B', 'regression', 'outlier', 'cost',
  [R('cost',[{'column':'ward','values':list('ABCDEFGH')}]), R('cost',[{'column':'ward','values':list('ABCDEFGH')}],[F('cost','<',100000)]), T([D],groups=[{'column':'ward','values':['B']}])],
  lambda v: (g(v[0],['(intercept)'],'coefficient')+g(v[0],['ward = B'],'coefficient'))*g(v[2],['B'],'distinct of study_number') - (g(v[1],['(intercept)'],'coefficient')+g(v[1],['ward = B'],'coefficient'))*(g(v[2],['B'],'distinct of study_number')-1),
  'n_B*(b0+bB) - (n_B-1)*(b0+bB without)')
run_seq('regression cost ~ age with a categorical district that includes ZZ9', 'regression', 'lone', 'cost',
  [R('cost',['age',{'column':'district','values':['GH1','ZZ9']}])], lambda v: g(v[0],['(intercept)'],'coefficient')+g(v[0],['district = ZZ9'],'coefficient')+76*g(v[0],['age'],'coefficient'), 'b0 + b_ZZ9 + 76 b_age')
# --- magnitude: a group where the outlier is just under the 50% rule
run_seq('mean cost in ward B aged 60-80 (outlier under 50%), less the rest at the hospital mean', 'magnitude', 'outlier', 'cost',
  [T(MC, filters=[F('ward','==','B'),F('age','between',[60,80])]), T(MC+[S('var','cost')], filters=[F('ward','!=','B')])],
  lambda v: confident(sm(v[0]) - (g(v[0],[],'distinct of study_number')-1)*g(v[1],[],'mean of cost'), (g(v[1],[],'var of cost')*(g(v[0],[],'distinct of study_number')-1))**0.5),
  'n*mean - (n-1)*mean elsewhere; kept only if the attacker error bar sqrt((n-1)*var elsewhere) is within 10%')
run_seq('median and mean of cost over ward B with and without the outlier', 'magnitude', 'outlier', 'cost',
  [T([S('median','cost')]+MC, filters=[F('ward','==','B')]), T([S('median','cost')]+MC, filters=[F('ward','==','B'),F('cost','<',100000)])],
  lambda v: sub(sm(v[0]), sm(v[1])), 'sum with - sum without')
run_seq('sum of squares: mean and var of cost in ward B, with and without', 'magnitude', 'outlier', 'cost',
  [T([S('var','cost')]+MC, filters=[F('ward','==','B')]), T([S('var','cost')]+MC, filters=[F('ward','==','B'),F('age','!=',71)])],
  lambda v: sub(sm(v[0]), sm(v[1])), 'sum with - sum without')
# --- oracle (held)
steps = (90, 95, 98, 100, 102, 103, 104)
run_seq('count above x over rising x: the oldest age', 'oracle', 'oldest', 'age', [T([C], filters=[F('age','>',x)]) for x in steps],
  lambda v: next((x for x, w in zip(steps, v) if g(w,[],'count') is None), None), 'first x whose count is held back')
run_seq('implied-zero oracle: HIV-negative count with and without the over-100s', 'oracle', 'oldest', 'hiv',
  [T([D], filters=[F('hiv','==',False)]), T([D], filters=[F('hiv','==',False),F('age','<',100)])],
  lambda v: eq0(sub(g(v[0],[],'distinct of study_number'), g(v[1],[],'distinct of study_number'))), 'difference 0 means HIV')
dump('res_classic.json')
