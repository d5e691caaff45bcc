import MailBridge
print("mailbridge")
