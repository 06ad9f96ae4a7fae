//! Property tests over random observations.
