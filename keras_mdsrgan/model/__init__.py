"""The networks and what they are trained with: layers, generators and discriminators (named in
``registry``), losses, the distillation targets, running a generator in any exported format
(``inference``) and the generators shipped with the package (``zoo``)."""
