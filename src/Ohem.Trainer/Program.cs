// Replaced by the CLI (train / eval) as the trainer lands.
return 0;
