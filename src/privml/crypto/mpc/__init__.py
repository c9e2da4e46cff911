"""Secure multi-party computation (MPyC): joint training and private inference.

Three (or more) parties each hold a horizontal slice of a tabular dataset (rows of UCI Adult
with the same columns). They train logistic regression together on Shamir secret shares of
fixed-point numbers and open only the final model; or one party's model scores another party's
rows and only the labels are opened, to the row owner. Each party is its own process talking
TCP to the others (``privml mpc train SPEC --party I --parties host:port,...``);
``privml mpc launch`` runs all of them locally.

Security model
--------------
* **Semi-honest (passive) adversary, honest majority.** MPyC's protocols are Shamir secret
  sharing with threshold t = (m-1)//2, so t = 1 of 3: any single party, following the protocol
  but trying to learn more from what it sees, learns nothing beyond its own input and the
  outputs it is given. Two colluding parties of three can reconstruct everything; a party that
  deviates from the protocol (sends wrong shares) is not detected. Use it where parties are
  audited organisations, not where one may actively cheat.
* **Channels:** plain TCP on loopback in the launcher and the tests. Across hosts, MPyC's
  ``--ssl`` (mutually authenticated TLS) or a VPN is needed; privml does not set that up.
  MPyC's parties 1..m-1 listen on their port on all interfaces, and MPyC decodes array
  messages with ``pickle``, so a malicious peer could run code on the others: one more reason
  this is for semi-honest, authenticated parties behind a firewall only.
* **What each party learns in training:** every party's row count (public; it fixes the
  batch schedule), every party's schema hash and protocol hash (recipe, party count and
  receivers; public, to abort on a mismatch before any data is shared), and the final weights
  if it is among the receivers (``reveal_to``, default every party). No
  intermediate value (scores, gradients, weights during training, labels) is ever opened.
  Secure comparisons leak nothing but have a statistical security parameter of 30 bits
  (MPyC's default ``-K 30``).
* **What each party learns in inference:** the model owner learns the feature owner's row
  count; the feature owner learns the model's feature count and the labels of its rows; other
  parties learn the counts only. Scores are not opened.
* **What the model itself reveals** (membership, attributes) is outside MPC's scope: MPC hides
  the training data from the other parties, not from whoever receives the model.

Modules: ``spec`` (YAML specs, data sources, schema hashes), ``recipe`` (the plaintext recipe),
``runtime`` (MPyC start-up, time-outs, byte counts), ``train`` and ``predict`` (one party),
``launch`` (all parties as local subprocesses) and ``compare`` (plaintext reference, summary).
"""
