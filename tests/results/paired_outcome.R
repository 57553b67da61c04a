# Reference values for tests/test_stats.py::paired_outcome, from R's t.test, cor and
# BayesFactor::ttestBF (JZS prior, Cauchy scale sqrt(2)/2), independently of scipy and the library's own
# integral. Needs Debian's r-cran-bayesfactor. Run from the repository root:
#   Rscript tests/results/paired_outcome.R
# and commit the CSV it writes beside itself.
# (The Wilcoxon test is checked in effect_intervals.R, on changes without ties: with ties R falls back to a
# normal approximation where scipy enumerates, so the two would not be the same test.)
options(digits = 17)
suppressPackageStartupMessages(library(BayesFactor))
pre <- c(52, 61, 45, 70, 38, 55, 49, 66, 58, 41)  # PRE and POST of tests/test_stats.py
post <- c(30, 44, 40, 35, 36, 20, 45, 50, 22, 40)
tt <- t.test(pre, post, paired = TRUE, conf.level = 0.95)
bf <- extractBF(ttestBF(x = pre, y = post, paired = TRUE, rscale = sqrt(2) / 2))$bf
out <- data.frame(
  statistic = c("mean_change", "change_sd", "change_ci_low", "change_ci_high", "t", "df", "p", "r_pre_post",
                "bf10"),
  value = c(mean(pre - post), sd(pre - post), tt$conf.int[1], tt$conf.int[2], unname(tt$statistic),
            unname(tt$parameter), tt$p.value, cor(pre, post), bf)
)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write.csv(out, file.path(here, "paired_outcome.csv"), row.names = FALSE)
