"""Small classifiers for tabular and image data, and how they are trained.

One training recipe (``Recipe``) is shared by the target model, its DP-SGD variant and the
attacks' reference models, so that reference models are trained "the same way" as the target
(LiRA's assumption). ``ensemble`` trains many copies at once as one vectorised model.
"""

from privml.classifiers.nets import MLP, LogisticRegression, SmallCNN, make_net
from privml.classifiers.recipe import Recipe

__all__ = ["MLP", "LogisticRegression", "Recipe", "SmallCNN", "make_net"]
