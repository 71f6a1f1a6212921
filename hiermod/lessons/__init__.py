"""The computations behind the Learn page's live lessons (no Streamlit; ``ui/learn_*.py`` draws them).

One small module per lesson or shared idea; each returns tables and numbers, and the sentences a
lesson states are built from those numbers (never typed), so a test can check every figure shown:

``common``            the lessons' interval, draws and a one-group edit of a data set (via live_data)
``schools``           eight schools: no / complete / partial pooling (lesson 1), borrowing strength
                      both ways (3), shrinkage against precision (4)
``batting``           the league's Beta population from Efron–Morris, the rookie and the veteran (2),
                      shrinkage predicts the rest of the season (12)
``simulate``          students in schools with a chosen ICC and a school-level treatment (5, 6)
``variance_share``    variance decomposition on simulated groups with a chosen ICC (5)
``pseudoreplication`` students-in-schools analysed as independent rows vs hierarchically (6)
``plug_in``           empirical Bayes against full Bayes on a design of J schools (7)
``prior_knowledge``   weakly informative, skeptical and bounded priors on sparse data (8)
``ranks``             rank posteriors (9)
``funnel``            the funnel: exact draws, centered and non-centered NUTS (10)
``nested``            shrinkage at each level of students in classes in schools (11)
``handout``           a one-page HTML handout of a lesson (figure + text, plotly.js inline)
"""
