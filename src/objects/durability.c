/*
 * The durability formula, implemented once. States 0..P count failed
 * drives of a group of n = D + P; state P + 1 (data loss) absorbs. From
 * state i a failure happens at rate (n - i) * lambda and, for i >= 1, a
 * rebuild completes at rate mu = 1 / rebuild time. The mean time to reach
 * P + 1 from 0 of a birth-death chain is
 *     T = sum_{k=0..P} sum_{j=0..k} (1 / lambda_j) prod_{m=j+1..k} (mu_m / lambda_m)
 * (expected passage times from state k to k+1, summed).
 */
#include "objects/durability.h"

#include <math.h>

double hs_dur_lambda(double afr)
{
    return -log1p(-afr) / HS_HOURS_PER_YEAR;
}

double hs_dur_mttdl_hours(int d, int p, double afr, double rebuild_hours)
{
    if (d < 1 || p < 0 || afr <= 0 || afr >= 1 || rebuild_hours <= 0) return -1;
    int n = d + p;
    double lam = hs_dur_lambda(afr), mu = 1.0 / rebuild_hours, total = 0;
    for (int k = 0; k <= p; k++) {
        /* expected time to go from state k to k+1 */
        double tk = 0;
        for (int j = 0; j <= k; j++) {
            double term = 1.0 / ((n - j) * lam);
            for (int m = j + 1; m <= k; m++)
                term *= mu / ((n - m) * lam);
            tk += term;
        }
        total += tk;
    }
    return total;
}

double hs_dur_mttdl_approx_hours(int d, int p, double afr, double rebuild_hours)
{
    if (d < 1 || p < 0 || afr <= 0 || afr >= 1 || rebuild_hours <= 0) return -1;
    int n = d + p;
    double lam = hs_dur_lambda(afr), mu = 1.0 / rebuild_hours, den = 1;
    for (int i = 0; i <= p; i++)
        den *= (n - i) * lam;
    return pow(mu, p) / den;
}

double hs_dur_annual_loss(int d, int p, double afr, double rebuild_hours, double groups)
{
    double t = hs_dur_mttdl_hours(d, p, afr, rebuild_hours);
    if (t <= 0) return -1;
    if (groups < 1) groups = 1;
    /* -expm1 keeps precision for tiny probabilities (11 nines = 1e-11). */
    return -expm1(-groups * HS_HOURS_PER_YEAR / t);
}

double hs_dur_nines(double loss)
{
    return loss <= 0 ? INFINITY : -log10(loss);
}
