"""The papers layer: one module per chapter, named after it, holding only what that chapter needs.

Concept code (laws, fitting, resampling, allocation, ...) lives in the core modules of
:mod:`scalinglib`; a module here composes them into one paper's procedure.
"""
