"""No-tool material for the synthetic tool cases: requests that need no call, and their replies.

Inside: NOPE (per domain, requests that sound like the domain but no offered tool can do, with
what cannot be done), greetings, thanks, small talk, questions about the assistant, "what can you
do" requests, general-knowledge questions with answers, and casual question prefixes. Pure data.

Example:
    >>> sorted(NOPE)[:2], ("Tell me a joke." in dict(SMALLTALK))
    (['alarms', 'bank'], True)
"""

from __future__ import annotations

NOPE: dict[str, list[tuple[str, str]]] = {
    "weather": [("Can you make it stop raining?", "change the weather"), ("What was the weather in Rome on my wedding day in 1998?", "look up weather from decades ago"),
                ("Send the forecast to my sister by email.", "send emails"), ("Why do hurricanes spin?", "explain meteorology in depth")],
    "calendar": [("Can you book me a flight for my meeting next week?", "book flights"), ("Sync my calendar with my wife's phone.", "sync calendars between devices"),
                 ("Print my schedule for the week.", "print documents")],
    "email": [("Recover the email I deleted last year.", "recover deleted emails"), ("Change my email password.", "change account passwords"),
              ("Block this spammer permanently at the server.", "block senders on the mail server")],
    "music": [("Write me a song about my cat.", "compose songs"), ("Download this album as MP3 files.", "download music files"),
              ("Who's playing at the festival this summer?", "look up festival line-ups")],
    "home": [("Order a new smart bulb for the kitchen.", "order products"), ("Fix my broken wifi router.", "repair hardware"),
             ("Tell me who rang the doorbell yesterday.", "check the doorbell history")],
    "flights": [("Can you get me an upgrade to business class for free?", "arrange free upgrades"), ("How do I get a visa for Japan?", "handle visa applications"),
                ("Book me a rental car at the airport.", "rent cars")],
    "hotels": [("Ask the hotel to bring extra towels to room 412.", "contact hotel staff"), ("Find me an apartment to rent for a year.", "search long-term rentals"),
               ("Leave a review for the hotel I stayed at.", "post reviews")],
    "restaurants": [("What's the recipe for the lasagna at La Piazza?", "get restaurant recipes"), ("Complain to the restaurant about my meal last night.", "send complaints to restaurants"),
                    ("Order takeaway from the place downstairs.", "order takeaway")],
    "maps": [("Drive me to the airport.", "drive a car"), ("How much does it cost to park downtown all day?", "look up parking prices"),
             ("Report a pothole on Main Street to the city.", "file reports with the city")],
    "currency": [("Should I buy bitcoin now?", "give investment advice"), ("Open a euro account for me.", "open bank accounts"),
                 ("Where's the cheapest exchange office near me?", "find exchange offices")],
    "units": [("How many calories should I eat per day?", "give nutrition advice"), ("Convert this PDF to Word.", "convert files"),
              ("What's 3 cups of flour in grams?", "convert between volume and weight")],
    "stocks": [("Buy 10 shares of Tesla for me.", "place trades"), ("Will the market crash next month?", "predict the market"),
               ("Open a brokerage account.", "open brokerage accounts")],
    "news": [("Write a news article about my town.", "write articles"), ("Subscribe me to the New York Times.", "manage subscriptions"),
             ("Is this news story fake?", "fact-check stories")],
    "recipes": [("Cook dinner for me tonight.", "cook"), ("Order the ingredients for lasagna.", "order groceries"),
                ("Is my chicken still safe to eat after a week?", "judge food safety")],
    "todo": [("Do my laundry.", "do chores"), ("Share my to-do list with my roommate.", "share lists with other people"),
             ("Remind me every morning forever at 7.", "create recurring reminders")],
    "alarms": [("Snooze my alarm for ten minutes when it goes off.", "snooze a ringing alarm"), ("Change my alarm sound to birdsong.", "change alarm sounds"),
               ("Wake me up if it snows tonight.", "wake you up based on the weather")],
    "notes": [("Scan this paper note and save it.", "scan paper documents"), ("Turn my notes into a presentation.", "make presentations"),
              ("Share my notes with the team.", "share notes")],
    "translate": [("Teach me Spanish grammar.", "teach grammar lessons"), ("Interpret my phone call in French live.", "interpret live calls"),
                  ("Translate this video's audio into German.", "translate audio or video")],
    "shop": [("Give me a discount code.", "create discount codes"), ("Change the delivery address on my account profile.", "edit your account profile"),
             ("Which laptop should I buy for gaming?", "recommend products")],
    "bank": [("Increase my credit card limit.", "change credit limits"), ("Apply for a mortgage for me.", "apply for loans"),
             ("Dispute a charge from last month.", "dispute charges")],
    "ride": [("Rate my last driver five stars.", "rate drivers"), ("Book a bus ticket to Boston.", "book bus tickets"),
             ("I left my umbrella in the car yesterday, get it back.", "report lost items")],
    "cinema": [("Stream Dune for me tonight.", "stream movies"), ("Write a review of Oppenheimer.", "write movie reviews"),
               ("Get me a refund for tickets from last week.", "refund old tickets")],
    "sports": [("Place a bet on Arsenal to win.", "place bets"), ("Buy me a Celtics jersey.", "buy merchandise"),
               ("Get me tickets to the NBA finals.", "buy match tickets")],
    "contacts": [("Call my mom on video.", "make video calls"), ("Who texted me at 3am?", "read your message history"),
                 ("Block this number from calling me.", "block numbers")],
    "files": [("Recover the file I deleted last month.", "restore deleted files"), ("Upgrade my storage plan to 2 TB.", "change storage plans"),
              ("Edit the spreadsheet and fix the formulas.", "edit document contents")],
    "code": [("Fix the bug in our login code.", "write code fixes"), ("Deploy the app to production.", "deploy software"),
             ("Review my pull request.", "review pull requests")],
    "crm": [("Call the Globex lead for me.", "make phone calls"), ("Predict which leads will close this quarter.", "forecast deals"),
            ("Export all leads to Excel.", "export the CRM")],
    "hr": [("Give me a raise.", "change salaries"), ("What's the company policy on remote work?", "look up HR policies"),
           ("Fire the new intern.", "handle employment decisions")],
    "it": [("Install Photoshop on my laptop.", "install software remotely"), ("What's the CEO's password?", "share other people's passwords"),
           ("Order me a new laptop.", "order hardware")],
    "food": [("Leave the driver a 20% tip after delivery.", "change tips after delivery"), ("Is pizza healthy?", "give diet advice"),
             ("Cook me some pasta.", "cook food")],
    "calc": [("Do my tax return.", "prepare tax returns"), ("Solve this differential equation step by step.", "solve advanced math step by step"),
             ("Plot y = x squared.", "draw graphs")],
    "tz": [("Change my computer's clock.", "change device settings"), ("Why do we have daylight saving time?", "explain the history of time zones"),
           ("Set a meeting with my team in Tokyo.", "schedule meetings")],
    "dict": [("Write an essay using the word serendipity.", "write essays"), ("Check the grammar of my cover letter.", "check grammar"),
             ("How do you pronounce quinoa out loud?", "speak words aloud")],
    "parcel": [("Send a package to my brother in Denver.", "ship new packages"), ("File a claim for my lost parcel.", "file insurance claims"),
               ("How much does it cost to ship 5 kg to Japan?", "quote shipping prices")],
    "jobs": [("Write my cover letter.", "write cover letters"), ("Negotiate my salary offer.", "negotiate offers"),
             ("Prepare me for my interview tomorrow.", "coach interviews")],
}
GREET = ["Hi", "Hello", "Hey there", "Good morning", "Good evening", "Hiya", "Hey", "Howdy", "Hello hello", "Morning"]
GREET_TAIL = ["", "!", " :)", ", how are you?", ", what's up?", "! How's it going?", ", anyone there?", ". Nice to meet you.", " friend"]
GREET_REPLY = ["Hello! How can I help you today?", "Hi! What can I do for you?", "Hey! What do you need?",
               "Hello! Let me know what you'd like help with."]
THANKS = ["Thanks", "Thank you", "Thx", "Cheers", "Great, thanks", "Perfect, thank you so much", "Awesome, thanks a lot", "Ok thanks",
          "Many thanks", "Brilliant, cheers", "ty"]
THANKS_TAIL = ["", "!", ", that's all", " for the help", ", that was quick", ". Bye!", ", you're a star", " :)", ", that's everything for now"]
THANKS_REPLY = ["You're welcome! Let me know if you need anything else.", "Happy to help!", "Anytime! Have a great day.",
                "You're welcome!"]
SMALLTALK = [("How are you today?", "I'm doing well, thanks for asking! How can I help?"),
             ("Tell me a joke.", "Why don't skeletons fight each other? They don't have the guts."),
             ("I'm bored.", "Sorry to hear that! Want me to help with something, like planning your day?"),
             ("Good night!", "Good night! Sleep well."), ("What's your favourite colour?", "I don't have one, but I hear blue is popular!"),
             ("Do you like music?", "I don't listen to music myself, but I'm happy to chat about it."),
             ("I had a rough day.", "I'm sorry to hear that. I hope tomorrow is better."),
             ("Lol that's funny", "Glad you liked it!"), ("ok", "Okay! Anything else I can help with?"),
             ("never mind", "No problem. Let me know if you need anything."), ("Are you there?", "Yes, I'm here. What can I do for you?"),
             ("See you later!", "See you later!")]
ABOUT = [("Who are you?", "I'm an assistant that can use a few tools to help you."), ("Are you a human?", "No, I'm an AI assistant."),
         ("Who made you?", "I'm an AI assistant built on a small language model."),
         ("Do you remember what I told you yesterday?", "No, I don't keep memories between conversations."),
         ("Are you free to use?", "I'm an assistant running in this app; I don't handle billing myself.")]
CAN_DO = ["What can you do?", "What are you able to help with?", "What tools do you have?", "How can you help me?", "What do you do?"]
KNOWLEDGE = [("What is the capital of Australia?", "The capital of Australia is Canberra."), ("How many legs does a spider have?", "A spider has eight legs."),
             ("Who wrote Pride and Prejudice?", "Jane Austen wrote Pride and Prejudice."), ("What's the chemical symbol for gold?", "The chemical symbol for gold is Au."),
             ("How many continents are there?", "There are seven continents."), ("What is the largest planet in our solar system?", "Jupiter is the largest planet."),
             ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."), ("How many days are in a leap year?", "A leap year has 366 days."), ("What language is spoken in Brazil?", "Portuguese is the main language of Brazil."),
             ("What is photosynthesis?", "Photosynthesis is how plants turn light, water and carbon dioxide into sugar and oxygen."),
             ("Who was the first person on the moon?", "Neil Armstrong was the first person to walk on the moon."),
             ("What's the tallest mountain in the world?", "Mount Everest is the tallest mountain above sea level."),
             ("What does DNA stand for?", "DNA stands for deoxyribonucleic acid."), ("Which ocean is the largest?", "The Pacific Ocean is the largest."),
             ("Who discovered penicillin?", "Alexander Fleming discovered penicillin."),
             ("How many sides does a hexagon have?", "A hexagon has six sides."), ("What's the longest river in Africa?", "The Nile is the longest river in Africa."),
             ("What year did World War II end?", "World War II ended in 1945."), ("What is the smallest prime number?", "The smallest prime number is 2."),
             ("What gas do humans breathe out?", "Humans breathe out carbon dioxide."), ("What's the capital of Canada?", "The capital of Canada is Ottawa."),
             ("How many players are on a football team on the pitch?", "Each football team has eleven players on the pitch."),
             ("What is the speed of light roughly?", "About 300,000 kilometres per second."), ("Who developed the theory of relativity?", "Albert Einstein did.")]
ASK_PREFIX = ["", "", "Quick question: ", "Random one - ", "I'm curious, ", "Hey, ", "Settle a bet: ", "hmm, ", "Out of interest, "]
