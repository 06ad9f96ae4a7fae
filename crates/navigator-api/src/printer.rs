//! Printer columns: what `kubectl get` shows for each kind (`as=Table`), computed from hub objects.
