import TriageCLI
TriageCommand.runMain()
