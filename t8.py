import sys; sys.path.insert(0,'/tmp/probe'); import h; from h import *
h.BASE="http://127.0.0.1:3412"
def enc(v):
    s=""
    for _ in range(26): s=ENC[v&31]+s; v>>=5
    return s
old=json.load(open('/tmp/probe/old_ids.json'))
mx=max(i for k,i in old); mn=min(i for k,i in old)
print("old min", mn, "max", mx)
M=(1<<80)-1
for label,v in [("max+1",ulid_int(mx)+1),("max+3",ulid_int(mx)+3),("max+7",ulid_int(mx)+7),("min-1",ulid_int(mn)-1)]:
    for k in (4,5):
        x=enc(v); s,g,_=req("GET","/api/events/"+x,k=k)
        print(label, "tenant", k, x, s, (g.get('id'), g.get('sessionId'), g.get('tenantId')) if s==200 else g)
# old random part with a new ms
nowms = ulid_ms(mx)+60000
x=enc((nowms<<80)|(ulid_int(mx)&M)); print("other ms", req("GET","/api/events/"+x,k=4)[0], req("GET","/api/events/"+x,k=5)[0])
x=enc(((ulid_ms(mx)-5000)<<80)|(ulid_int(mx)&M)); print("earlier ms", req("GET","/api/events/"+x,k=4)[0], req("GET","/api/events/"+x,k=5)[0])
