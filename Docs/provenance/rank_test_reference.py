# Reference values for Tests/HarnessTests/RankTestTests.swift (scipy 1.17.1, numpy).
# p-values: scipy.stats.mannwhitneyu(head, base, alternative="two-sided", method=...).
# HL CI: null distribution of U by brute-force enumeration of all C(m+n, m) orderings.
import numpy as np, scipy, itertools, math
from scipy.stats import mannwhitneyu
print("scipy", scipy.__version__)
cases = {
 "separated": ([1,2,3,4,5,6,7],[8,9,10,11,12,13,14]),
 "interleaved5x6": ([1.0,1.3,0.9,1.1,1.25],[1.2,1.35,1.4,1.05,1.5,1.45]),
 "ties": ([1.0,1.1,0.9,1.05,0.95,1.02,0.98],[1.2,1.01,1.3,1.15,0.97,1.25,1.1]),
 "tenByTen": ([1.00,1.02,0.99,1.03,0.98,1.01,1.04,0.97,1.005,0.995],[1.06,1.08,1.01,1.10,1.07,1.035,1.09,1.05,1.045,1.11]),
}
for name,(x,y) in cases.items():
    ties = len(set(x+y)) < len(x+y)
    method = "asymptotic" if ties else "exact"
    r = mannwhitneyu(y, x, alternative="two-sided", method=method)
    m,n = len(x),len(y)
    d = np.sort(np.array([yj/xi for xi in x for yj in y]))
    shift = np.median(d)-1
    if not ties:
        N=m+n; counts=[0]*(m*n+1)
        for ys in itertools.combinations(range(N), n):
            s=set(ys); u=0; xs_before=0
            for p in range(N):
                if p in s: u+=xs_before
                else: xs_before+=1
            counts[u]+=1
        tot=sum(counts); cdf=0; k=0
        for c in counts:
            cdf+=c/tot
            if cdf>0.025: break
            k+=1
    else:
        k=math.floor(m*n/2-1.959963984540054*math.sqrt(m*n*(m+n+1)/12))
    lo = d[k-1]-1 if k>=1 else None; hi = d[m*n-k]-1 if k>=1 else None
    print(name, method, "U=%r p=%r shift=%r k=%d ci=(%r, %r)" % (float(r.statistic), float(r.pvalue), float(shift), k, lo and float(lo), hi and float(hi)))
