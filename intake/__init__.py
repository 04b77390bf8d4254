"""pulje-intake: the worker behind the grant pool inbox."""
