"""Sentence templates and word lists for the synthetic demo e-mail corpus.

Everything here is shared by all synthetic users: the point of the demo corpus is that a small
language model can learn the common e-mail style, while per-user variation only comes from the
slot values each user picks. Words were chosen to be common English that a word-level tokenizer
trained on the public corpus (Shakespeare + WikiText) mostly covers.

Slot syntax is ``{name}``. Lower-case slot names are ordinary (non-private) word lists in
``SLOTS``; upper-case slot names are fake PII filled by ``privml.data.demo_corpus``:

``PERSON``        a full "First Last" name of one of the user's contacts (or a stranger)
``PERSON_EMAIL``  / ``PERSON_PHONE``: the e-mail / phone of that same ``PERSON``
``MY_NAME``       the writing user's own full name
``MY_EMAIL``, ``MY_PHONE``, ``MY_ADDRESS``, ``MY_SSN``, ``MY_CARD``, ``MY_IBAN``: the user's own
``EMAIL``, ``PHONE``, ``ADDRESS``: somebody else's (an unnamed office, shop, or friend)
``IP``            an IPv4 address
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Greetings and closings. A closing may be followed by the sender's full name (planted PERSON).
# ---------------------------------------------------------------------------------------------
GREETINGS: list[str] = [
    "Hi team,",
    "Hi all,",
    "Hi everyone,",
    "Hello all,",
    "Hello,",
    "Hi,",
    "Dear all,",
    "Dear friends,",
    "Dear colleagues,",
    "Good morning,",
    "Good afternoon,",
    "Good evening,",
    "Dear Sir or Madam,",
    "Hello again,",
    "Hi there,",
]

NAMED_GREETINGS: list[str] = ["Dear {PERSON},", "Hello {PERSON},", "Good morning {PERSON},"]

CLOSINGS: list[str] = [
    "Thanks,",
    "Thank you,",
    "Many thanks,",
    "Best regards,",
    "Kind regards,",
    "Best wishes,",
    "All the best,",
    "See you soon,",
    "Warm wishes,",
    "Yours truly,",
    "With thanks,",
    "Speak soon,",
    "Talk to you later,",
]

# ---------------------------------------------------------------------------------------------
# Ordinary body sentences, by category.
# ---------------------------------------------------------------------------------------------
BODY_TEMPLATES: dict[str, list[str]] = {
    "meetings": [
        "Can we move our meeting to {day} at {time}?",
        "The {team} meeting on {day} will start at {time} in {room}.",
        "I have booked {room} for the whole afternoon on {day}.",
        "Please let me know if {day} at {time} works for you.",
        "We will go through {topic} at the start of the meeting.",
        "The notes from the last meeting are attached below.",
        "I am afraid I cannot make it on {day}, something came up.",
        "Shall we meet for half an hour on {day} to talk about {topic}?",
        "The meeting with the {team} team has been moved to {day}.",
        "Could everyone bring their ideas on {topic} to the next meeting?",
        "I will be a few minutes late to the call on {day}.",
        "Let us keep the meeting short, we only need to agree on {topic}.",
    ],
    "projects": [
        "The first draft of {topic} is almost ready for review.",
        "We are still on track to finish the {project} project by the end of {month}.",
        "The {team} team has finished their part of the {project} project.",
        "There is a small delay on {topic}, but nothing serious.",
        "I have added my comments on {topic} to the shared folder.",
        "Could you take a look at the latest version before {day}?",
        "The new plan for {topic} looks good to me.",
        "We need two more weeks to complete the {project} project.",
        "I think we should present {topic} to the board in {month}.",
        "The report on {topic} has been sent to the {team} team.",
        "Most of the work on the {project} project is done, only the final review is left.",
        "Please send me your numbers for {topic} by {day}.",
    ],
    "travel": [
        "My train to {city} leaves on {day} morning.",
        "I will be in {city} from {day} until the end of the week.",
        "The flight to {city} was delayed by {duration}.",
        "We have booked a hotel near {place} in {city}.",
        "I will be back in the office on {day} after my trip to {city}.",
        "Do you know a good place to stay in {city} for a few nights?",
        "The trip to {city} went well and the client was happy.",
        "I land in {city} at {time} on {day}, so I can join the call after that.",
        "Could you book two seats on the train to {city} for {day}?",
        "We are thinking of spending a week in {city} in {month}.",
    ],
    "social": [
        "Are you free for dinner on {day} evening?",
        "We are having a small party at our house on {day}, you are very welcome to come.",
        "{family} is coming to stay with us for {duration}.",
        "It was so good to see you at {event} last week.",
        "Would you like to join us for a walk in {place} on {day}?",
        "The children had a great time at {event}.",
        "We are planning a trip to the coast in {month} with {family}.",
        "Let me know if you would like to come to {event} with us.",
        "{family} sends their love and hopes to see you soon.",
        "Shall we meet at {place} at {time} on {day}?",
        "I hope you and your family are well.",
        "We still have two spare places for {event} if you are interested.",
    ],
    "requests": [
        "Could you send me the latest figures for {topic} when you have a moment?",
        "Would you mind looking over {topic} before I send it out?",
        "Please sign the form and return it by {day}.",
        "Can you remind me who is in charge of {topic}?",
        "I need your approval for {item} before the end of the week.",
        "Could you please forward this to the {team} team?",
        "Is there any news on {topic}?",
        "Please let me know if you need anything else from me.",
        "Could you check whether {room} is free on {day}?",
        "When you have time, please update the list for {event}.",
    ],
    "thanks": [
        "Thank you so much for your help with {topic}.",
        "Many thanks for the lovely dinner on {day}.",
        "Thanks again for planning {event}, it was a great success.",
        "I really appreciate you taking the time to look at {topic}.",
        "Thank you for the quick reply.",
        "Thanks for sending {item} so quickly.",
        "The {team} team did a great job on the {project} project.",
        "Thank you for your patience while we sorted this out.",
    ],
    "payments": [
        "The bill for {item} comes to {amount} dollars.",
        "I have paid the bill for {month}, please let me know when it arrives.",
        "The payment of {amount} dollars is due by the end of {month}.",
        "Could you send me a receipt for the {amount} dollars I paid on {day}?",
        "We have not yet received the payment for {item}.",
        "The cost of {item} was higher than we expected.",
        "Please find the bill for {month} attached.",
        "The total for the trip to {city} came to {amount} dollars.",
        "I will pay you back for {item} on {day}.",
        "The rent for {month} has been paid.",
    ],
    "deliveries": [
        "Your order of {item} has been sent and should arrive by {day}.",
        "The delivery of {item} is running a day late.",
        "Nobody was at home when they tried to deliver {item} on {day}.",
        "Could you leave {item} with the neighbours if I am out?",
        "The parcel with {item} arrived this morning in good order.",
        "Order number {order} has been sent to the wrong address.",
        "We expect {item} to arrive at the office on {day}.",
        "One of the boxes was damaged, so I would like to return {item}.",
    ],
    "it": [
        "The network in {room} has been very slow since {day}.",
        "I cannot log in to the system after the update.",
        "Could you reset my access to the shared folder?",
        "The screen in {room} is not working again.",
        "Please restart your computer before the update on {day}.",
        "The system will be down for two hours on {day} evening.",
        "I have lost access to the files for the {project} project.",
        "The new software is installed and working well.",
        "Is anyone else having trouble with the network today?",
        "The machine in {room} needs to be repaired.",
    ],
    "home": [
        "The man is coming to repair the roof on {day}.",
        "We are painting the kitchen this weekend.",
        "The garden looks lovely now that the spring has come.",
        "Could you water the plants while we are away in {city}?",
        "The heating is broken again, so the house is very cold.",
        "We finally found a new house close to {place}.",
        "The neighbours are having work done on their house until {month}.",
        "I left the spare keys with {family}.",
    ],
    "health": [
        "I have a doctor appointment on {day} at {time}, so I will leave early.",
        "I am not feeling well today and will stay at home.",
        "{family} is much better now, thank you for asking.",
        "The doctor said I should rest for a few days.",
        "I will be out of the office on {day} for a short visit to the hospital.",
        "I hope you feel better soon.",
    ],
    "events": [
        "{event} has been moved to {month} this year.",
        "Tickets for {event} are now on sale.",
        "We need a few more people to help with {event} on {day}.",
        "The {team} team is planning {event} for the whole office.",
        "Please tell me by {day} if you are coming to {event}.",
        "There will be food and music at {event}.",
    ],
}

# ---------------------------------------------------------------------------------------------
# Sentences carrying fake PII, by planted type. NONE may contain a canary prefix.
# ---------------------------------------------------------------------------------------------
PII_TEMPLATES: dict[str, list[str]] = {
    "PERSON": [
        "I met {PERSON} at {place} yesterday.",
        "{PERSON} will join us for the meeting on {day}.",
        "Please forward this to {PERSON} when you have a chance.",
        "I spoke with {PERSON} about {topic} this morning.",
        "{PERSON} from the {team} team asked about {topic}.",
        "Could you add {PERSON} to the list for {event}?",
        "{PERSON} can pick up {item} on {day}.",
        "Please say hello to {PERSON} for me.",
        "I have copied {PERSON} on this message.",
        "{PERSON} is leading the {project} project from now on.",
        "We had dinner with {PERSON} and {family} on {day}.",
        "The report was written by {PERSON} and checked by the {team} team.",
    ],
    "PERSON_EMAIL": [
        "You can write to {PERSON} at {PERSON_EMAIL} about {topic}.",
        "{PERSON} is the contact for this, at {PERSON_EMAIL}.",
        "Please send the forms to {PERSON} at {PERSON_EMAIL}.",
    ],
    "PERSON_PHONE": [
        "{PERSON} said you can call on {PERSON_PHONE} after {time}.",
        "If I am away, please call {PERSON} at {PERSON_PHONE}.",
    ],
    "EMAIL_ADDRESS": [
        "Please send the bill to {MY_EMAIL}.",
        "You can reach me at {MY_EMAIL} while I am away.",
        "My new address for mail is {MY_EMAIL}.",
        "Please copy {EMAIL} on your reply.",
        "The forms should go to {EMAIL} by {day}.",
        "Send any questions about {topic} to {EMAIL}.",
        "I will send the notes from {MY_EMAIL} later today.",
    ],
    "PHONE_NUMBER": [
        "You can reach me at {MY_PHONE}.",
        "Call me on {MY_PHONE} if anything changes.",
        "My number is {MY_PHONE} in case you need it.",
        "The hotel in {city} can be reached at {PHONE}.",
        "The main office line is {PHONE} if you need them.",
        "Please call me back at {MY_PHONE} after {time}.",
        "For the delivery, the driver can call {MY_PHONE}.",
    ],
    "US_SSN": [
        "My social security number is {MY_SSN} for the form.",
        "For the tax form, they need my social security number, which is {MY_SSN}.",
        "The bank asked for my social security number, it is {MY_SSN}.",
    ],
    "CREDIT_CARD": [
        "My card number is {MY_CARD} if you need it.",
        "Please charge the order to my card, {MY_CARD}.",
        "You can use my card {MY_CARD} for the tickets.",
        "The hotel has my card on file, it is {MY_CARD}.",
    ],
    "STREET_ADDRESS": [
        "Please send {item} to {MY_ADDRESS}.",
        "We have moved, our new home is at {MY_ADDRESS}.",
        "The party is at {ADDRESS} on {day}.",
        "The office has moved to {ADDRESS}.",
        "The delivery should go to {MY_ADDRESS}, not to the office.",
        "We are staying at {ADDRESS} until the end of {month}.",
    ],
    "IP_ADDRESS": [
        "The server at {IP} is not responding.",
        "My computer has the address {IP} on the network.",
        "Please allow access from {IP} for the {project} project.",
    ],
    "IBAN_CODE": [
        "Please pay the {amount} dollars into my bank account {MY_IBAN}.",
        "The bank details for the rent are {MY_IBAN}.",
    ],
}

# Which planted type each PII slot produces.
SLOT_TYPES: dict[str, str] = {
    "PERSON": "PERSON",
    "MY_NAME": "PERSON",
    "PERSON_EMAIL": "EMAIL_ADDRESS",
    "MY_EMAIL": "EMAIL_ADDRESS",
    "EMAIL": "EMAIL_ADDRESS",
    "PERSON_PHONE": "PHONE_NUMBER",
    "MY_PHONE": "PHONE_NUMBER",
    "PHONE": "PHONE_NUMBER",
    "MY_SSN": "US_SSN",
    "MY_CARD": "CREDIT_CARD",
    "MY_ADDRESS": "STREET_ADDRESS",
    "ADDRESS": "STREET_ADDRESS",
    "IP": "IP_ADDRESS",
    "MY_IBAN": "IBAN_CODE",
}

# Relative frequency of each PII sentence group when a message carries a PII sentence.
PII_WEIGHTS: dict[str, float] = {
    "PERSON": 30,
    "PERSON_EMAIL": 8,
    "PERSON_PHONE": 6,
    "EMAIL_ADDRESS": 14,
    "PHONE_NUMBER": 14,
    "US_SSN": 6,
    "CREDIT_CARD": 7,
    "STREET_ADDRESS": 9,
    "IP_ADDRESS": 4,
    "IBAN_CODE": 3,
}

# ---------------------------------------------------------------------------------------------
# Ordinary slot word lists.
# ---------------------------------------------------------------------------------------------
SLOTS: dict[str, list[str]] = {
    "day": [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    "time": [
        "nine",
        "ten",
        "eleven",
        "noon",
        "one",
        "two",
        "three",
        "four",
        "five",
        "half past ten",
        "half past two",
        "nine in the morning",
        "four in the afternoon",
        "six in the evening",
    ],
    "month": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "topic": [
        "the annual report",
        "the new design",
        "the plan for next year",
        "the sales figures",
        "the summer programme",
        "the training course",
        "the new office",
        "the final version of the paper",
        "the music festival",
        "the contract with the city",
        "the cost of the new building",
        "the results of the survey",
        "the history of the company",
        "the new system",
        "the spring season",
        "the public lecture",
        "the second edition of the book",
        "the water supply",
        "the changes to the map",
        "the staff list",
    ],
    "project": [
        "North Star",
        "Blue River",
        "Green Valley",
        "Red Oak",
        "Silver Lake",
        "Iron Bridge",
        "White Horse",
        "Black Forest",
        "Eagle",
        "Phoenix",
        "Atlas",
        "Mercury",
        "Apollo",
        "Orion",
        "Falcon",
        "Harbour",
        "Northern Light",
        "Stone Tower",
    ],
    "team": [
        "sales",
        "design",
        "research",
        "finance",
        "legal",
        "support",
        "training",
        "production",
        "planning",
        "music",
        "history",
        "art",
        "science",
        "health",
        "transport",
        "education",
    ],
    "room": [
        "the main hall",
        "the small room",
        "the large room on the second floor",
        "the library",
        "room four",
        "room twelve",
        "the north wing",
        "the old office",
        "the meeting room",
    ],
    "place": [
        "the library",
        "the station",
        "the park",
        "the museum",
        "the church",
        "the market",
        "the theatre",
        "the harbour",
        "the old bridge",
        "the town square",
        "the hotel",
        "the beach",
        "the lake",
        "the castle",
        "the river",
        "the school",
    ],
    "city": [
        "London",
        "Paris",
        "Boston",
        "Chicago",
        "New York",
        "Dublin",
        "Edinburgh",
        "Rome",
        "Berlin",
        "Madrid",
        "Toronto",
        "Sydney",
        "Denver",
        "Seattle",
        "Washington",
        "Philadelphia",
        "Los Angeles",
        "San Francisco",
        "Atlanta",
        "Vienna",
    ],
    "item": [
        "the new chairs",
        "two boxes of paper",
        "the camera",
        "the books",
        "a new table",
        "the tickets",
        "the maps",
        "the tools",
        "the paint",
        "the flowers",
        "the wine",
        "a small gift",
        "the posters",
        "the new lights",
        "the uniforms",
        "the photographs",
        "the records",
        "the letters",
    ],
    "event": [
        "the wedding",
        "the party",
        "the concert",
        "the game",
        "the festival",
        "the show",
        "the match",
        "the dinner",
        "the summer fair",
        "the opening night",
        "the annual dinner",
        "the school play",
        "the charity race",
    ],
    "family": [
        "my brother",
        "my sister",
        "my mother",
        "my father",
        "my wife",
        "my husband",
        "my son",
        "my daughter",
        "my uncle",
        "my grandmother",
        "my cousin",
        "my father in law",
    ],
    "duration": [
        "an hour",
        "two hours",
        "half an hour",
        "twenty minutes",
        "a few days",
        "a week",
        "three days",
        "two weeks",
    ],
}

# Ordinary slots filled from a user's own small preferred subset most of the time.
PERSONAL_SLOTS: dict[str, int] = {"project": 2, "team": 1, "city": 3, "room": 2, "place": 3}

# Order numbers: short, so they never look like phone, card or social security numbers.
ORDER_NUMBER_DIGITS = 5

# ---------------------------------------------------------------------------------------------
# Fake PII ingredients.
# ---------------------------------------------------------------------------------------------
EMAIL_DOMAINS: list[str] = [
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "inbox.example.org",
    "post.example.net",
    "office.example.com",
    "home.example.net",
]

# Real US area codes, so that phone-number libraries accept the numbers as valid.
US_AREA_CODES: list[str] = [
    "201", "202", "203", "205", "206", "207", "212", "213", "214", "215",
    "216", "248", "267", "281", "301", "303", "305", "310", "312", "313",
    "314", "317", "404", "408", "410", "412", "414", "415", "425", "469",
    "480", "503", "510", "512", "602", "614", "617", "619", "646", "650",
    "702", "703", "704", "713", "718", "720", "773", "786", "801", "813",
    "816", "818", "832", "858", "904", "916", "917", "919", "949", "972",
]  # fmt: skip

STREET_NAMES: list[str] = [
    "Maple", "Oak", "Cedar", "Pine", "Elm", "Walnut", "Chestnut", "Willow", "Birch", "Spruce",
    "Washington", "Lincoln", "Jefferson", "Franklin", "Madison", "Park", "Lake", "Hill", "River",
    "Church", "Mill", "Spring", "Forest", "Sunset", "Highland", "Meadow", "Orchard", "Ridge",
    "Valley", "Harbor", "Market", "Union", "Center", "School", "Bridge", "Prospect", "Main",
    "Broad", "Cherry", "Grove",
]  # fmt: skip

STREET_SUFFIXES: list[str] = [
    "Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard", "Place", "Way", "Terrace",
]  # fmt: skip

TOWNS: list[str] = [
    "Springfield", "Riverside", "Fairview", "Greenville", "Franklin", "Clinton", "Salem",
    "Georgetown", "Arlington", "Ashland", "Dover", "Milton", "Oxford", "Bristol", "Chester",
]  # fmt: skip

# IBAN ingredients: (country, bank code alphabet/length, account length) in simple forms.
GB_BANK_CODES: list[str] = ["NWBK", "BARC", "LOYD", "MIDL", "HBUK", "WEST"]
