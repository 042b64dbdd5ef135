from drv import *
import json, math
RARE = "Creutzfeldt-Jakob disease"
D = S('distinct', 'study_number')
TRUTH = {
 'oldest': {'age':104,'cost':18437.25,'hiv':True,'diagnosis':'Pneumonia','sex':'F','ward':'F','admitted':'2021-11-04','bmi':21.5,'los':3},
 'rare': {'age':47,'cost':23911.80,'hiv':False,'sex':'F','ward':'B','admitted':'2022-08-06','district':'EF5'},
 'outlier': {'cost':251340.55,'age':71,'sex':'F','ward':'B','admitted':'2024-06-27','district':'GH2'},
 'leaked': {'hiv':True,'cost':9120.40,'sex':'M','ward':'E','age':49},
 'lone': {'diagnosis':'Sepsis','cost':31055.10,'died':True,'sex':'M','ward':'G','age':76},
}
RESULTS = []
def verdict(secret, est, truth):
    if est is None: return 'held'
    if isinstance(truth, bool) or isinstance(truth, str):
        return 'revealed' if est == truth else 'held'
    err = abs(est - truth)
    if secret == 'age':
        return 'revealed' if err <= 0.5 else 'narrowed' if err <= 2 else 'held'
    return 'revealed' if err <= 0.01*abs(truth) else 'narrowed' if err <= 0.10*abs(truth) else 'held'
def record(name, cls, target, secret, seq, estimate, how, truth=None, note=''):
    if truth is None: truth = TRUTH[target][secret]
    v = verdict(secret, estimate, truth)
    RESULTS.append({'name':name,'class':cls,'target':target,'secret':secret,
                    'queries':[q for q,_ in seq.log],'released':[vw for _,vw in seq.log],
                    'how':how,'truth':truth,'estimate':estimate,'verdict':v,'note':note})
    print(f'[{v.upper()}] {cls} | {name} | est={estimate} truth={truth} {note}')
    return v
def g(view, labels, header):
    try:
        return val(view, labels, header)
    except Exception:
        return None
def dump(path):
    json.dump(RESULTS, open(path,'w'), indent=1, default=str)

def quantum(m, digits=4):
    if m == 0: return 0.0
    return 10 ** (math.floor(math.log10(abs(m))) - digits + 1)
def band_sd(M, a, b, parts):
    """attacker-side 1-sd error: M companions uniform in [a,b) plus each released mean's 4-significant-figure rounding (n*quantum/sqrt 12)"""
    v = M * ((b - a) ** 2) / 12 + sum((n * quantum(m)) ** 2 / 12 for n, m in parts)
    return v ** 0.5
def confident(est, sd, rel=0.10):
    """keep an estimate only if the attacker's own 1-sd error bar is within rel of it"""
    return est if (est is not None and sd is not None and sd <= rel * abs(est)) else None
