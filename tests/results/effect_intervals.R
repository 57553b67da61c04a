# Reference values for tests/test_effects.py, computed with R's own noncentral t (pt), wilcox.test and
# binom.test, independently of scipy. Run from the repository root:
#   Rscript tests/results/effect_intervals.R
# and commit the CSV it writes beside itself.
options(digits = 17)
inv_ncp <- function(t, df, p) uniroot(function(ncp) pt(t, df, ncp) - p, c(t - 20, t + 20), tol = 1e-12)$root

# Paired case (the PRE/POST of tests/test_stats.py): d_z and d_av with noncentral-t intervals (95%).
pre <- c(52, 61, 45, 70, 38, 55, 49, 66, 58, 41)
post <- c(30, 44, 40, 35, 36, 20, 45, 50, 22, 40)
change <- pre - post
n <- length(change)
t <- mean(change) / (sd(change) / sqrt(n))
dz_low <- inv_ncp(t, n - 1, 0.975) / sqrt(n)
dz_high <- inv_ncp(t, n - 1, 0.025) / sqrt(n)
s_av <- sqrt((var(pre) + var(post)) / 2)
scale <- sd(change) / s_av  # d_av = d_z * sd_change / s_av (Algina & Keselman 2003)

# Two-group case: Cohen's d_s of change with versus without psychotherapy, noncentral-t interval.
with_ <- c(25, 30, 12, 18, 27, 22)
without <- c(10, 16, 5, 20, 8, 14, 11)
n1 <- length(with_); n2 <- length(without)
pooled <- sqrt(((n1 - 1) * var(with_) + (n2 - 1) * var(without)) / (n1 + n2 - 2))
ds <- (mean(with_) - mean(without)) / pooled
ts <- ds / sqrt(1 / n1 + 1 / n2)
ds_scale <- sqrt(1 / n1 + 1 / n2)

# Exact Wilcoxon signed-rank test on a small paired case with no ties and no zero changes.
w_pre <- c(40, 52, 47, 61, 38, 55, 44)
w_post <- c(41, 30, 44, 50, 45, 25, 40)
wp <- wilcox.test(w_pre, w_post, paired = TRUE, exact = TRUE)$p.value

# Exact Clopper-Pearson intervals (binom.test) for k of 20.
bt <- function(k) binom.test(k, 20, conf.level = 0.95)$conf.int

out <- data.frame(
  statistic = c("d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "d_av_ci_low", "d_av_ci_high",
                "psychotherapy_d", "psychotherapy_d_ci_low", "psychotherapy_d_ci_high", "psychotherapy_p",
                "wilcoxon_p", "cp_0_low", "cp_0_high", "cp_7_low", "cp_7_high", "cp_20_low", "cp_20_high"),
  value = c(mean(change) / sd(change), dz_low, dz_high, mean(change) / s_av, dz_low * scale, dz_high * scale,
            ds, inv_ncp(ts, n1 + n2 - 2, 0.975) * ds_scale, inv_ncp(ts, n1 + n2 - 2, 0.025) * ds_scale,
            t.test(with_, without, var.equal = TRUE)$p.value,
            wp, bt(0)[1], bt(0)[2], bt(7)[1], bt(7)[2], bt(20)[1], bt(20)[2])
)
write.csv(out, "tests/results/effect_intervals.csv", row.names = FALSE)
