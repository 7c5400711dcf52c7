from otpservice.cli import main

raise SystemExit(main())
